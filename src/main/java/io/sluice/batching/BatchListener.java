package io.sluice.batching;

/** Sees every batch that runs; used for metrics and tests. */
@FunctionalInterface
public interface BatchListener {
    /** Called after a batch of {@code rows} rows from {@code requests} requests ran the model for {@code nanos}. */
    void ran(int requests, int rows, long nanos);

    /**
     * Called once per job as its batch starts, or as it fails for a deadline that passed while it was
     * queued, with how long it waited in the queue.
     */
    default void waited(long nanos) {}

    /**
     * Called after a batch ran and its {@code requests} requests got their answers: its {@code rows} rows ran
     * for {@code nanos}, and the requests had waited {@code waitedNanos} in all since they were queued. Never
     * for a batch that failed; a request rerun alone after its batch failed is answered by its own run.
     */
    default void answered(int requests, int rows, long nanos, long waitedNanos) {}
}
