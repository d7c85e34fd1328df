package io.sluice.batching;

import io.sluice.inference.Tensor;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * One request waiting in a scheduler. It completes exactly once: with its own output rows, with a
 * failure, or not at all once cancelled; whichever comes first wins.
 */
public final class Job {

    private static final Logger LOG = Logger.getLogger(Job.class);

    final List<Tensor> inputs;
    final List<String> outputs;
    final int rows;
    /** The bytes of all its inputs. */
    final long bytes;
    final Object signature;
    final int level;
    final long deadlineNanos;
    final Object trace;
    long enqueuedNanos;
    long sequence;

    private final Consumer<List<Tensor>> onResult;
    private final Consumer<Throwable> onFailure;
    private final AtomicBoolean done = new AtomicBoolean();
    /** In a batch that is running, and counted so by its scheduler until answered or cancelled. */
    private final AtomicBoolean running = new AtomicBoolean();

    /**
     * @param inputs validated inputs
     * @param outputs requested output names, empty for all
     * @param rows rows along the batch dimension (1 when the model cannot batch)
     * @param signature jobs may share a batch only when their signatures are equal
     * @param level priority level, 0 is served first
     * @param deadlineNanos deadline on the scheduler's clock, {@link Long#MAX_VALUE} for none
     * @param trace whatever the caller attaches for tracing; handed back to the runner, never read here
     * @param onResult receives this job's outputs
     * @param onFailure receives the failure
     */
    public Job(List<Tensor> inputs, List<String> outputs, int rows, Object signature, int level,
            long deadlineNanos, Object trace, Consumer<List<Tensor>> onResult, Consumer<Throwable> onFailure) {
        this.inputs = inputs;
        this.outputs = outputs;
        this.rows = rows;
        long total = 0;
        for (Tensor t : inputs) {
            total += t.byteSize();
        }
        this.bytes = total;
        this.signature = signature;
        this.level = level;
        this.deadlineNanos = deadlineNanos;
        this.trace = trace;
        this.onResult = onResult;
        this.onFailure = onFailure;
    }

    /**
     * Delivers the result unless the job is already done; true if this call delivered it. A callback that
     * throws is logged, never passed on: it runs on an instance thread, which must live on.
     */
    boolean complete(List<Tensor> result) {
        if (done.compareAndSet(false, true)) {
            deliver(onResult, result);
            return true;
        }
        return false;
    }

    /** Delivers the failure unless the job is already done; a callback that throws is logged. */
    boolean fail(Throwable failure) {
        if (done.compareAndSet(false, true)) {
            deliver(onFailure, failure);
            return true;
        }
        return false;
    }

    private static <T> void deliver(Consumer<T> callback, T value) {
        try {
            callback.accept(value);
        } catch (RuntimeException | Error e) {
            LOG.errorf(e, "a caller's callback threw while its answer was delivered");
        }
    }

    /** Marks the job done without a delivery; true if it was still pending. */
    boolean cancel() {
        return done.compareAndSet(false, true);
    }

    /** Marks the job part of a running batch. */
    void startRunning() {
        running.set(true);
    }

    /** Ends the running mark; true for the one call that ended it (the batch's end, or a cancel during it). */
    boolean stopRunning() {
        return running.getAndSet(false);
    }

    /** True once completed, failed or cancelled. */
    public boolean isDone() {
        return done.get();
    }

    boolean expired(long now) {
        return now >= deadlineNanos;
    }
}
