package io.sluice.api.grpc;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.api.grpc.proto.InferTensorContents;
import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.inference.InferenceException;
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
}
