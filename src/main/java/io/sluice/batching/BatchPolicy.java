package io.sluice.batching;

import java.util.List;

/**
 * How one model's scheduler forms batches.
 *
 * @param maxBatchSize most rows in one batch; 1 turns batching off
 * @param maxQueueDelayNanos how long the oldest request may wait for a fuller batch
 * @param preferredSizes batch sizes to run as soon as they can be formed; may be empty
 * @param queueSize most queued requests; more are rejected at once
 * @param priorityLevels number of priority levels; level 1 is served first
 */
public record BatchPolicy(
        int maxBatchSize, long maxQueueDelayNanos, List<Integer> preferredSizes, int queueSize, int priorityLevels) {

    public BatchPolicy {
        preferredSizes = preferredSizes.stream().filter(s -> s <= maxBatchSize).sorted().toList();
    }

    /** A policy that runs every request alone, as soon as an instance is free. */
    public static BatchPolicy unbatched(int queueSize) {
        return new BatchPolicy(1, 0, List.of(), queueSize, 1);
    }
}
