package io.sluice.config;

/** What to do when a GPU provider is configured but cannot be had. */
public enum GpuUnavailablePolicy {
    /** Run on CPU, log a warning, and report {@code cpu} as the provider in use. */
    FALLBACK,
    /** Mark the model FAILED with the reason. */
    FAIL
}
