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

    private static final String NOT_ITS_FIELD =
            "input 'X' is FP32 but has elements in contents.int64_contents, which is not that datatype's field";

    @Test
    void elementsInAnotherDatatypesFieldAreRefusedNotDropped() {
        assertRefused(fp32Input(InferTensorContents.newBuilder().addFp32Contents(1).addFp32Contents(2)
                .addInt64Contents(5).addInt64Contents(6).addInt64Contents(7)), NOT_ITS_FIELD);
    }

    @Test
    void elementsOnlyInAnotherDatatypesFieldAreNamedAsSuchNotCountedAsMissing() {
        assertRefused(fp32Input(InferTensorContents.newBuilder().addInt64Contents(5).addInt64Contents(6)), NOT_ITS_FIELD);
    }

    @Test
    void anInputParameterWithoutAValueIsRefusedAsOneOnTheRequestIs() {
        ModelInferRequest request = fp32Input(InferTensorContents.newBuilder().addFp32Contents(1).addFp32Contents(2));
        ModelInferRequest unset = request.toBuilder().setInputs(0, request.getInputs(0).toBuilder()
                .putParameters("tag", InferParameter.getDefaultInstance())).build();
        assertRefused(unset, "parameter 'tag' has no value");
        assertRefused(request.toBuilder().putParameters("tag", InferParameter.getDefaultInstance()).build(),
                "parameter 'tag' has no value");
    }

    /** A request to model m of one FP32 input X of shape [2], with {@code contents}. */
    private static ModelInferRequest fp32Input(InferTensorContents.Builder contents) {
        return ModelInferRequest.newBuilder().setModelName("m")
                .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("X").setDatatype("FP32").addShape(2)
                        .setContents(contents))
                .build();
    }

    private static void assertRefused(ModelInferRequest request, String message) {
        assertThatThrownBy(() -> GrpcTensors.request(request, Long.MAX_VALUE))
                .isInstanceOf(InferenceException.InvalidInput.class)
                .hasMessage(message);
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
        assertRefused(request, "parameter 'priority' must be a non-negative integer, was -1");
    }
}
