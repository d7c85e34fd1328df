package io.sluice.inference;

import java.util.List;

/**
 * What a served model version looks like from outside, as read from its ONNX session.
 *
 * @param name model name
 * @param version this version
 * @param versions all versions of the model
 * @param platform {@value #PLATFORM}
 * @param provider the execution provider actually in use ({@code cpu}, {@code cuda}, {@code tensorrt})
 * @param inputs declared inputs
 * @param outputs declared outputs
 */
public record ModelMetadata(
        String name,
        String version,
        List<String> versions,
        String platform,
        String provider,
        List<TensorSpec> inputs,
        List<TensorSpec> outputs) {

    /** The OIP platform name of ONNX models. */
    public static final String PLATFORM = "onnx_onnxv1";
}
