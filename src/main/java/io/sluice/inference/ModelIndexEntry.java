package io.sluice.inference;

/**
 * One model version in the repository index (Triton's model repository extension), with Triton's state
 * names: {@code READY}, {@code LOADING} (Sluice's LOADING and WARMING) and {@code UNAVAILABLE} (FAILED).
 *
 * @param name model name
 * @param version version
 * @param state Triton's name of the version's state
 * @param reason why a version is UNAVAILABLE; empty otherwise
 */
public record ModelIndexEntry(String name, String version, String state, String reason) {}
