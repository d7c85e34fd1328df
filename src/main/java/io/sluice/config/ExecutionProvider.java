package io.sluice.config;

/** The ONNX Runtime execution providers Sluice can ask for. */
public enum ExecutionProvider {
    CPU,
    CUDA,
    TENSORRT;

    /** True for the providers that need a GPU. */
    public boolean gpu() {
        return this != CPU;
    }

    /** The lower-case name used in config, metadata and metrics. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
