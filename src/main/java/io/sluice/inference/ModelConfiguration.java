package io.sluice.inference;

import io.sluice.config.VersionPolicy;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * How the server runs one model version, for Triton's model configuration extension: whether and how it
 * batches, how many instances run it and where, and its tensors. With batching, {@link #dims(TensorSpec)}
 * leave out the batch dimension, as Triton's {@code max_batch_size > 0} says.
 *
 * @param name model name
 * @param version this version
 * @param maxBatchSize the most rows the scheduler puts in one batch; 0 when it does not batch the model
 * @param inputs declared inputs (empty until the version has loaded)
 * @param outputs declared outputs (empty until the version has loaded)
 * @param batching the dynamic batcher's settings, present when {@code maxBatchSize > 0}
 * @param instances concurrent runs
 * @param gpuDevice the GPU the instances run on; empty on the CPU
 * @param responseCache whether answers are cached
 * @param versionPolicy which of the model's versions in the repository are served
 */
public record ModelConfiguration(
        String name,
        String version,
        int maxBatchSize,
        List<TensorSpec> inputs,
        List<TensorSpec> outputs,
        Optional<Batching> batching,
        int instances,
        Optional<Integer> gpuDevice,
        boolean responseCache,
        VersionPolicy versionPolicy) {

    /** The model file's name in a version directory. */
    public static final String MODEL_FILE = "model.onnx";
    /** Triton's platform name for an ONNX model run by ONNX Runtime. */
    public static final String PLATFORM = "onnxruntime_onnx";
    /** Triton's backend name for ONNX Runtime. */
    public static final String BACKEND = "onnxruntime";

    /**
     * The dynamic batcher.
     *
     * @param preferredSizes batch sizes run as soon as they can be formed
     * @param maxQueueDelayMicros how long the oldest request may wait for a fuller batch
     * @param priorityLevels the priority levels (1 the highest)
     * @param queueSize the most requests queued
     */
    public record Batching(List<Integer> preferredSizes, long maxQueueDelayMicros, int priorityLevels, int queueSize) {

        /** The levels as Triton counts them: 0 (priority off) for a single level. */
        public int reportedLevels() {
            return priorityLevels > 1 ? priorityLevels : 0;
        }
    }

    /** A tensor's dimensions as a client sends them per row: without the batch dimension when batching. */
    public long[] dims(TensorSpec tensor) {
        long[] shape = tensor.shape();
        return maxBatchSize > 0 && shape.length > 0 ? Arrays.copyOfRange(shape, 1, shape.length) : shape.clone();
    }
}
