package io.sluice.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtException.OrtErrorCode;
import org.junit.jupiter.api.Test;

/** Which of ONNX Runtime's run failures may be the input's, for the scheduler to tell with its known-good input. */
class OnnxSessionFailureTest {

    @Test
    void aKernelsFailureMayBeTheInputs() {
        // MiniLM given 513 tokens, as ONNX Runtime 1.23.2 words it
        assertThat(OnnxSession.mayBeTheInput(new OrtException(OrtErrorCode.ORT_RUNTIME_EXCEPTION, "Non-zero status code"
                + " returned while running Add node. Name:'/embeddings/Add_1' Status Message: axis == 1 || axis == largest"
                + " was false. Attempting to broadcast an axis by a dimension other than 1. 512 by 513"))).isTrue();
        assertThat(OnnxSession.mayBeTheInput(new OrtException(OrtErrorCode.ORT_FAIL, "Reshape: the input tensor cannot"
                + " be reshaped to the requested shape"))).isTrue();
    }

    @Test
    void memoryDevicesAndProvidersAreNot() {
        assertThat(OnnxSession.mayBeTheInput(new OrtException(OrtErrorCode.ORT_RUNTIME_EXCEPTION,
                "Failed to allocate memory for requested buffer of size 1073741824"))).isFalse();
        assertThat(OnnxSession.mayBeTheInput(new OrtException(OrtErrorCode.ORT_FAIL,
                "CUDA failure 700: an illegal memory access was encountered"))).isFalse();
        assertThat(OnnxSession.mayBeTheInput(new OrtException(OrtErrorCode.ORT_RUNTIME_EXCEPTION,
                "CUBLAS failure 13: CUBLAS_STATUS_EXECUTION_FAILED"))).isFalse();
        assertThat(OnnxSession.mayBeTheInput(new OrtException(OrtErrorCode.ORT_EP_FAIL, "TensorRT EP execution failed")))
                .isFalse();
        assertThat(OnnxSession.mayBeTheInput(new OrtException(OrtErrorCode.ORT_ENGINE_ERROR, "engine"))).isFalse();
    }
}
