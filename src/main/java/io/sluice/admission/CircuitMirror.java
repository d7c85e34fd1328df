package io.sluice.admission;

import io.sluice.inference.InferResponse;
import io.sluice.inference.InferenceException;
import io.smallrye.faulttolerance.api.CircuitBreakerState;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * A {@link ModelGuard}'s mirror of its SmallRye circuit breaker's state, told by the breaker's state changes, so
 * that an open breaker is answered before the request is read; the rejection of an open breaker; and the marking
 * of a half-open breaker's trial the model never answered, which must reopen the breaker, not close it.
 */
final class CircuitMirror {

    private static final long CLOSED = Long.MIN_VALUE;
    private static final long HALF_OPEN = Long.MIN_VALUE + 1;

    private final String model;
    private final Duration circuitDelay;
    /** The breaker's own clock: SmallRye times its open state with {@code System.nanoTime}, and so must its mirror here. */
    private final LongSupplier circuitClock;
    /**
     * The breaker's state in one value, so no reader sees it between two writes: when it last opened, on
     * {@link #circuitClock}; {@link #CLOSED}; or {@link #HALF_OPEN}, letting a trial call through whose outcome
     * closes or reopens it.
     */
    private final AtomicLong circuit = new AtomicLong(CLOSED);

    /**
     * @param model the model's name, for messages
     * @param circuitDelay how long the breaker stays open
     * @param circuitClock nanoseconds, the clock SmallRye times the open state with
     */
    CircuitMirror(String model, Duration circuitDelay, LongSupplier circuitClock) {
        this.model = model;
        this.circuitDelay = circuitDelay;
        this.circuitClock = circuitClock;
    }

    /** Whether the breaker is closed, as far as the mirror was told. */
    boolean closed() {
        return circuit.get() == CLOSED;
    }

    /**
     * Mirrors a change of the breaker's state. SmallRye moves from open to half-open on its timer thread and makes
     * every other change on a caller's thread, so two callbacks can arrive out of order: a half-open told after the
     * trial's own close would leave the mirror half-open while the breaker is closed, and every call would then be
     * taken for a trial. The breaker never goes from closed to half-open, so such a late callback is dropped. Nor
     * does it go half-open before its delay has passed since it opened (SmallRye starts the delay before it tells
     * the opening), so a half-open told less than half the delay after the mirror opened is the late one of the
     * breaker's previous opening, told after the trial's reopening: dropped too, or arrivals would be read and sent
     * on to a breaker that refuses them with the whole delay as their Retry-After. (A half-open told later than
     * that, after a pause of half the delay, puts the mirror half-open early, with just that cost until the next
     * half-open.)
     */
    synchronized void circuitChanged(CircuitBreakerState state) {
        if (state == CircuitBreakerState.HALF_OPEN) {
            long opened = circuit.get();
            if (opened == CLOSED) {
                return; // the mirror says closed
            }
            if (opened != HALF_OPEN && circuitClock.getAsLong() - opened < circuitDelay.toNanos() / 2) {
                return; // the mirror opened again after the half-open this tells
            }
        }
        circuit.set(switch (state) {
            case OPEN -> circuitClock.getAsLong();
            case HALF_OPEN -> HALF_OPEN;
            default -> CLOSED;
        });
    }

    /**
     * The rejection of an open circuit breaker whose delay has not passed yet, with the rest of the delay
     * as its Retry-After; null otherwise. Once the delay has passed the next arrival goes on to the breaker
     * itself, which only then moves to half-open and lets trial calls through.
     */
    InferenceException.Unavailable circuitOpen() {
        long opened = circuit.get();
        if (opened == CLOSED || opened == HALF_OPEN) {
            return null;
        }
        long left = circuitDelay.toNanos() - (circuitClock.getAsLong() - opened);
        return left > 0 ? circuitOpen(Duration.ofNanos(left)) : null;
    }

    /** The rejection of the breaker itself, or of a full count while it is not closed: the whole delay as Retry-After. */
    InferenceException.Unavailable refused() {
        return circuitOpen(circuitDelay);
    }

    private InferenceException.Unavailable circuitOpen(Duration retryAfter) {
        return new InferenceException.Unavailable(InferenceException.Unavailable.Reason.CIRCUIT_OPEN,
                "model '" + model + "' is failing; its circuit breaker is open", retryAfter);
    }

    /**
     * The failure of the half-open breaker's trial, marked as {@link UnrunTrial} unless the model answered it (a
     * runtime failure, or the runtime refusing the input): turned away by the scheduler (a full queue, the
     * shedding's cut, a model shutting down), cancelled before its work started, or any
     * failure not foreseen here. SmallRye counts such a failure as a success, and would close the breaker on a trial
     * the model never answered; marked, it reopens the breaker for another delay.
     */
    static CompletionStage<InferResponse> trialNotRun(Throwable failure) {
        Throwable cause = Rejections.unwrap(failure);
        boolean answered = cause instanceof InferenceException.RuntimeFailure
                || cause instanceof InferenceException.InvalidInput;
        return CompletableFuture.failedFuture(answered ? cause : new UnrunTrial(cause));
    }

    /** A half-open breaker's trial the model never answered; its cause is what the caller is told. */
    static final class UnrunTrial extends RuntimeException {
        UnrunTrial(Throwable cause) {
            super(cause.getMessage(), cause, false, false);
        }
    }
}
