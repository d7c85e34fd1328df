package io.sluice.batching;

import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * When a thread that submits a request to a {@link ModelScheduler} runs it itself, in the place of an idle instance.
 *
 * @param maxNanos the longest run that may: a request runs on its caller's thread only while the model's recent
 *     runs say it takes at most this long (by its inputs' bytes), and the model's previous request came at least
 *     twice this long before it; 0: never
 * @param mayRun whether the thread calling {@link ModelScheduler#submit} may run a model (the I/O threads; never the
 *     instances' own, which answer a batch's other requests after the one whose answer submits the next)
 * @param overrunNanos how long a caller's run may go on before it is stopped ({@code stop}) and its request
 *     handed to the instance, after which the model's runs stay off the callers' threads
 * @param stop ends the run the given thread is making now (between two of the graph's nodes); null: a caller's
 *     run is never stopped
 */
public record CallerRuns(long maxNanos, BooleanSupplier mayRun, long overrunNanos, Consumer<Thread> stop) {
    /** Every run on an instance thread. */
    public static final CallerRuns NEVER = new CallerRuns(0, () -> false);

    /**
     * The overrun limit {@link #watched} sets: two ticks of the {@link CallerWatch}, and 100 times the longest run
     * an event loop may be set to make (1,000 µs).
     */
    static final long OVERRUN_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    /** Caller runs that are never stopped. */
    public CallerRuns(long maxNanos, BooleanSupplier mayRun) {
        this(maxNanos, mayRun, 0, null);
    }

    /**
     * Caller runs of at most {@code maxNanos} that {@code stop} ends once they have run 100 ms: a caller's run that
     * far past what the model's runs said it would take is not a run a caller should make, and the connections its
     * thread serves wait for it.
     */
    public static CallerRuns watched(long maxNanos, BooleanSupplier mayRun, Consumer<Thread> stop) {
        return new CallerRuns(maxNanos, mayRun, OVERRUN_NANOS, stop);
    }

    /** Whether a caller's run past {@link #overrunNanos} is stopped. */
    boolean stopsOverruns() {
        return maxNanos > 0 && overrunNanos > 0 && stop != null;
    }

    /** How long before a request the model's previous one must have come for the caller to run it: twice the limit. */
    long quietNanos() {
        return 2 * maxNanos;
    }
}
