package io.sluice.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.api.grpc.proto.InferParameter;
import io.sluice.api.grpc.proto.InferTensorContents;
import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.inference.InferRequest;
import io.sluice.inference.InferenceException;
import java.math.BigInteger;
import org.junit.jupiter.api.Test;

/** Typed {@code contents} read into the wire layout. */
class GrpcTensorsTest {

    @Test
    void elementsInAnotherDatatypesFieldAreRefusedNotDropped() {
        ModelInferRequest request = ModelInferRequest.newBuilder().setModelName("m")
                .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("X").setDatatype("FP32").addShape(2)
                        .setContents(InferTensorContents.newBuilder().addFp32Contents(1).addFp32Contents(2)
                                .addInt64Contents(5).addInt64Contents(6).addInt64Contents(7)))
                .build();
        assertThatThrownBy(() -> GrpcTensors.request(request, Long.MAX_VALUE))
                .isInstanceOf(InferenceException.InvalidInput.class)
                .hasMessage("input 'X' is FP32 but has elements in contents.int64_contents, which is not that datatype's field");
    }

    @Test
    void elementsOnlyInAnotherDatatypesFieldAreNamedAsSuchNotCountedAsMissing() {
        ModelInferRequest request = ModelInferRequest.newBuilder().setModelName("m")
                .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("X").setDatatype("FP32").addShape(2)
                        .setContents(InferTensorContents.newBuilder().addInt64Contents(5).addInt64Contents(6)))
                .build();
        assertThatThrownBy(() -> GrpcTensors.request(request, Long.MAX_VALUE))
                .isInstanceOf(InferenceException.InvalidInput.class)
                .hasMessage("input 'X' is FP32 but has elements in contents.int64_contents, which is not that datatype's field");
    }

    @Test
    void uint64ParametersPastInt64AreReadAsUnsigned() {
        InferParameter max = InferParameter.newBuilder().setUint64Param(-1L).build(); // 2^64-1 on the wire
        ModelInferRequest request = ModelInferRequest.newBuilder().setModelName("m")
                .putParameters("priority", max).putParameters("timeout", max).putParameters("tag", max)
                .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("X").setDatatype("FP32").addShape(1)
                        .setContents(InferTensorContents.newBuilder().addFp32Contents(1)))
                .build();
        InferRequest parsed = GrpcTensors.request(request, InferRequest.NO_DEADLINE);
        assertThat(parsed.priority()).as("a level past any model's: its default").isEqualTo(Integer.MAX_VALUE);
        assertThat(parsed.deadlineNanos()).as("longer than any deadline: none").isEqualTo(InferRequest.NO_DEADLINE);
        assertThat(parsed.parameters()).containsEntry("tag", new BigInteger("18446744073709551615"));
    }

    @Test
    void aNegativeInt64PriorityNamesTheValue() {
        ModelInferRequest request = ModelInferRequest.newBuilder().setModelName("m")
                .putParameters("priority", InferParameter.newBuilder().setInt64Param(-1).build())
                .build();
        assertThatThrownBy(() -> GrpcTensors.request(request, Long.MAX_VALUE))
                .isInstanceOf(InferenceException.InvalidInput.class)
                .hasMessage("parameter 'priority' must be a non-negative integer, was -1");
    }
}
