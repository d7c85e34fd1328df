package io.sluice.admission;

import io.sluice.batching.ModelScheduler;
import io.sluice.inference.InferenceException;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import org.eclipse.microprofile.faulttolerance.exceptions.BulkheadException;
import org.eclipse.microprofile.faulttolerance.exceptions.CircuitBreakerOpenException;
import org.eclipse.microprofile.faulttolerance.exceptions.TimeoutException;

/**
 * Every 503 and 504 a {@link ModelGuard} answers, but the open breaker's own ({@link CircuitMirror}): a full
 * bulkhead, the shedding queue full, the adaptive limit reached, a queued request whose place a higher level took,
 * and SmallRye's failures told as the guard's. No Retry-After it gives is longer than {@code admission.timeout}.
 */
final class Rejections {

    private final String model;
    private final int capacity;
    private final Duration admissionTimeout;
    private final ModelScheduler scheduler;
    private final ShedMode shed;
    private final AdaptiveLimit adaptive;
    private final CircuitMirror mirror;

    /**
     * @param model the model's name, for messages
     * @param capacity the guard's {@link ModelGuard#capacity()}
     * @param admissionTimeout the guard's timeout: the longest Retry-After
     * @param scheduler the model's scheduler: how long its queue takes to drain (the Retry-After of a full bulkhead)
     * @param shed the shedding switch; null when the shedding is off
     * @param adaptive the adaptive limit; null when it is off
     * @param mirror the breaker's mirror, whose rejection SmallRye's refusal becomes
     */
    Rejections(String model, int capacity, Duration admissionTimeout, ModelScheduler scheduler, ShedMode shed,
            AdaptiveLimit adaptive, CircuitMirror mirror) {
        this.model = model;
        this.capacity = capacity;
        this.admissionTimeout = admissionTimeout;
        this.scheduler = scheduler;
        this.shed = shed;
        this.adaptive = adaptive;
        this.mirror = mirror;
    }

    private Duration drainTime() {
        return atMostTheTimeout(scheduler.retryAfter());
    }

    /**
     * No one waits in the queue longer than the timeout: a longer estimate (a queued request of 2^31 - 1 rows of
     * nothing, or a slow model's deep queue) would tell clients to stay away for days.
     */
    private Duration atMostTheTimeout(Duration drain) {
        return drain.compareTo(admissionTimeout) > 0
                ? Duration.ofSeconds(Math.max(1, (admissionTimeout.toMillis() + 999) / 1000))
                : drain;
    }

    /** What a failure of SmallRye's guard, or of the work it ran, is told to the caller as. */
    Throwable translate(Throwable t) {
        Throwable cause = unwrap(t);
        if (cause instanceof CircuitMirror.UnrunTrial) {
            cause = cause.getCause();
        }
        if (cause instanceof BulkheadException) {
            return full();
        } else if (cause instanceof CircuitBreakerOpenException) {
            return mirror.refused();
        } else if (cause instanceof TimeoutException) {
            return new InferenceException.DeadlineExceeded("model '" + model + "' took longer than its admission.timeout");
        } else if (cause instanceof InferenceException.Unavailable u
                && u.retryAfter().compareTo(atMostTheTimeout(u.retryAfter())) > 0) {
            return new InferenceException.Unavailable(u.reason(), u.getMessage(), atMostTheTimeout(u.retryAfter()));
        }
        return cause;
    }

    /** The adaptive limit reached; only while it is on. */
    InferenceException.Unavailable adaptiveFull() {
        return new InferenceException.Unavailable(InferenceException.Unavailable.Reason.BULKHEAD_FULL,
                "model '" + model + "' is at its adaptive concurrency limit (" + adaptive.limit()
                        + " requests admitted)", drainTime());
    }

    /** The answer to a queued request whose place an arrival of a higher level took: {@code why}, saying so. */
    static InferenceException.Unavailable displaced(InferenceException.Unavailable why) {
        return new InferenceException.Unavailable(why.reason(),
                why.getMessage() + ": a request of a higher priority level took this one's place", why.retryAfter());
    }

    /** Every place taken. */
    InferenceException.Unavailable full() {
        return new InferenceException.Unavailable(InferenceException.Unavailable.Reason.BULKHEAD_FULL,
                "model '" + model + "' is at capacity (" + capacity + " requests admitted)", drainTime());
    }

    /** The shedding queue full; only while the shedding is on. */
    InferenceException.Unavailable overloaded() {
        return new InferenceException.Unavailable(InferenceException.Unavailable.Reason.BULKHEAD_FULL,
                "model '" + model + "' is overloaded: until it catches up it queues at most " + shed.queueSize()
                        + (shed.queueSize() == 1 ? " request" : " requests"), drainTime());
    }

    /** {@code t} without the {@link CompletionException}s around it. */
    static Throwable unwrap(Throwable t) {
        while (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }
}
