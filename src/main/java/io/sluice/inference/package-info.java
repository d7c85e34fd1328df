/**
 * The protocol-neutral core: {@link io.sluice.inference.InferenceService} is the one entry point
 * that every adapter calls; {@link io.sluice.inference.InferRequest}, {@link
 * io.sluice.inference.InferResponse} and {@link io.sluice.inference.Tensor} are what crosses it,
 * and {@link io.sluice.inference.InferenceException} is the one error hierarchy. {@link
 * io.sluice.inference.ModelConfiguration} says how a model version is served, for Triton's model
 * configuration extension. {@link io.sluice.inference.WireWarmup} is what each adapter does for a model's warmup:
 * its own parsing and writing, in process, before the model is READY.
 */
package io.sluice.inference;
