package io.sluice.admission;

import io.sluice.inference.InferRequest;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;

/**
 * How one request a {@link ModelGuard} admitted ended, told to the adaptive limit exactly once: a success with its
 * latency, a drop, a missed deadline, or nothing it learns from. Does nothing when the adaptive limit is off.
 */
final class AdaptiveOutcome {
    private final AdaptiveLimit adaptive;
    private final LongSupplier clock;
    private final long admitted;
    private final long deadline;
    private final boolean learns;
    private final AtomicBoolean told = new AtomicBoolean();

    /**
     * @param adaptive the adaptive limit; null when it is off
     * @param clock nanoseconds, the guard's clock
     * @param admitted when the request was admitted, on {@code clock}
     * @param deadline the request's own deadline, or {@link InferRequest#NO_DEADLINE}
     * @param learns whether a success is the model's latency, which the limit learns from
     */
    AdaptiveOutcome(AdaptiveLimit adaptive, LongSupplier clock, long admitted, long deadline, boolean learns) {
        this.adaptive = adaptive;
        this.clock = clock;
        this.admitted = admitted;
        this.deadline = deadline;
        this.learns = learns;
    }

    /** Whether the request's own deadline has passed. */
    boolean deadlinePassed() {
        return deadline != InferRequest.NO_DEADLINE && clock.getAsLong() - deadline >= 0;
    }

    /** Whether a cancellation now is the caller giving up at its deadline ({@link InferRequest#cancelledAtDeadline}). */
    boolean cancelledAtDeadline() {
        return InferRequest.cancelledAtDeadline(admitted, deadline, clock.getAsLong());
    }

    /**
     * The request's own deadline passed. A drop only if the model could have met it: a client that asks
     * for less time than the model needs even unloaded says nothing about load, and must not shrink the
     * limit every other caller shares.
     */
    void missedDeadline() {
        if (adaptive != null && told.compareAndSet(false, true)) {
            if (adaptive.couldMeet(deadline - admitted)) {
                adaptive.dropped();
            } else {
                adaptive.ignored();
            }
        }
    }

    void succeeded() {
        if (!learns) {
            ignored();
        } else if (adaptive != null && !told.get()) {
            // read before it counts as told: a clock that throws (out of memory) leaves it untold, for the
            // ignored() of the call's end, rather than its slot taken for good
            long latency = clock.getAsLong() - admitted;
            if (told.compareAndSet(false, true)) {
                adaptive.succeeded(latency);
            }
        }
    }

    void dropped() {
        if (adaptive != null && told.compareAndSet(false, true)) {
            adaptive.dropped();
        }
    }

    void ignored() {
        if (adaptive != null && told.compareAndSet(false, true)) {
            adaptive.ignored();
        }
    }
}
