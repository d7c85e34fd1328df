package io.sluice.model;

/**
 * CDI event fired synchronously on the loading thread at every lifecycle transition; observers see
 * the model before it moves on (metrics record it, tests can hold a model in WARMING).
 *
 * @param model model name
 * @param version model version
 * @param state the state just entered
 * @param reason why, for FAILED; otherwise null
 */
public record ModelStateChanged(String model, String version, ModelState state, String reason) {}
