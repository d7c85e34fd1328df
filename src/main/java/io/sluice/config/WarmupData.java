package io.sluice.config;

/** Where warmup tensors come from. */
public enum WarmupData {
    /** All zeros (empty strings for BYTES). */
    ZERO,
    /** Random values in a small range. */
    RANDOM,
    /** Raw little-endian tensors from {@code <version>/warmup/<input name>}, one batch row each. */
    FILES
}
