package io.sluice.inference;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A protocol-neutral inference request, as every adapter builds it.
 *
 * @param model model name
 * @param version requested version, or {@code null} for the model's default (its highest READY) version
 * @param id client request id, echoed back; may be {@code null}
 * @param parameters request parameters, kept and echoed where the protocol says so
 * @param inputs input tensors
 * @param outputs names of requested outputs; empty means all outputs
 * @param priority priority level: 1 is the highest (as in Triton), 0 the default, which is the lowest
 * @param deadlineNanos deadline on the {@link System#nanoTime()} scale, or {@link #NO_DEADLINE}
 * @param protocol the adapter it came through
 * @param classifications requested outputs to answer as their top classes, with how many (Triton's
 *     classification extension; see {@link Classification}); empty for none
 */
public record InferRequest(
        String model,
        String version,
        String id,
        Map<String, Object> parameters,
        List<Tensor> inputs,
        List<String> outputs,
        int priority,
        long deadlineNanos,
        Protocol protocol,
        Map<String, Integer> classifications) {

    /** Marks a request without a deadline. */
    public static final long NO_DEADLINE = Long.MAX_VALUE;

    /** The least delay of a timer: Vert.x refuses one under 1 ms, and Mutiny's {@code ifNoItem} runs on its timers. */
    public static final long LEAST_TIMER_NANOS = 1_000_000L;

    /**
     * The delay of a timer that ends a wait at a deadline {@code remainingNanos} away: at least {@link
     * #LEAST_TIMER_NANOS}, so one under 1 ms away fires up to that much late (a queued request is still dropped at
     * its deadline itself, when an instance looks at the queue).
     */
    public static Duration timerDelay(long remainingNanos) {
        return Duration.ofNanos(Math.max(LEAST_TIMER_NANOS, remainingNanos));
    }

    /** The most time a request cancelled before its deadline can have had left and still count as cancelled at it (100 ms). */
    public static final long DEADLINE_SLACK_NANOS = 100_000_000L;

    /**
     * The deadline {@code micros} after {@code nowNanos}. As in Triton, a timeout of 0 is none; so is a
     * timeout too long to be represented in nanoseconds (about 292 years), never one that has already passed.
     */
    public static long deadlineAfterMicros(long nowNanos, long micros) {
        if (micros == 0) {
            return NO_DEADLINE;
        }
        try {
            return deadlineAfterNanos(nowNanos, Math.multiplyExact(micros, 1000L));
        } catch (ArithmeticException tooLong) {
            return NO_DEADLINE;
        }
    }

    /** The deadline {@code nanos} after {@code nowNanos}; one past what a long holds is none, never a passed one. */
    public static long deadlineAfterNanos(long nowNanos, long nanos) {
        try {
            return Math.addExact(nowNanos, nanos);
        } catch (ArithmeticException tooLong) {
            return NO_DEADLINE;
        }
    }

    /**
     * Whether a request that arrived at {@code arrivedNanos} with {@code deadlineNanos} and was cancelled at
     * {@code nowNanos} was cancelled at its deadline: in the last quarter of its time, or its last
     * {@link #DEADLINE_SLACK_NANOS} if that is shorter. A gRPC client cancels its call when its deadline
     * passes, and the server's copy of the deadline started later, when the call's headers were read: the
     * cancel can reach the server before that copy passes (by 94 ms on a cold path here; on a warm one it
     * came a few ms after). False for a request without a deadline. {@code arrivedNanos} is when the caller
     * took the request up: the request counters as it arrived, the adaptive limit as it was admitted, after
     * the rate limit (at most {@code redis.timeout} later), so their windows can differ by a quarter of that.
     */
    public static boolean cancelledAtDeadline(long arrivedNanos, long deadlineNanos, long nowNanos) {
        return deadlineNanos != NO_DEADLINE
                && nowNanos - deadlineNanos >= -Math.min(DEADLINE_SLACK_NANOS, (deadlineNanos - arrivedNanos) / 4);
    }

    public InferRequest {
        parameters = parameters == null ? Map.of() : parameters;
        outputs = outputs == null ? List.of() : outputs;
        classifications = classifications == null ? Map.of() : Map.copyOf(classifications);
    }

    /** A request that asks for no classification. */
    public InferRequest(String model, String version, String id, Map<String, Object> parameters, List<Tensor> inputs,
            List<String> outputs, int priority, long deadlineNanos, Protocol protocol) {
        this(model, version, id, parameters, inputs, outputs, priority, deadlineNanos, protocol, Map.of());
    }

    /** This request at another priority level. */
    public InferRequest withPriority(int level) {
        return level == priority ? this : new InferRequest(model, version, id, parameters, inputs, outputs, level,
                deadlineNanos, protocol, classifications);
    }

    /** True when the request carries a deadline. */
    public boolean hasDeadline() {
        return deadlineNanos != NO_DEADLINE;
    }
}
