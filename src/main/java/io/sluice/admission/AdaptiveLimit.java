package io.sluice.admission;

/**
 * A gradient-style adaptive concurrency limit for one model, after Netflix concurrency-limits'
 * {@code GradientLimit}: it lets in as many requests at once as the model finishes at close to its
 * unloaded latency, so that the limit follows the hardware instead of a guess.
 *
 * <p>Every {@code window} finished requests it compares their mean latency (admission to answer) with
 * the no-load latency, the lowest single latency seen so far (a request that found an instance idle and
 * ran alone), and moves the limit:
 * <pre>
 *   gradient = clamp(tolerance × noLoad / mean, 0.5, 1)
 *   target   = limit × gradient + √limit          (√limit: room for a queue while probing upwards)
 *   limit    = clamp(0.8 × limit + 0.2 × target, min, max)
 * </pre>
 * While requests come back within {@code tolerance} × the no-load latency the limit grows by about
 * √limit / 5 per window; when queueing stretches them it shrinks, at most halving the target per
 * window. A window in which a request was dropped (deadline, timeout, runtime failure) backs off to
 * 0.9 × limit. A window that never had half the limit in flight leaves the limit alone: light traffic
 * says nothing about how much the model can take, and a limit grown idle would let the first burst of
 * an overload queue far past it. It starts at {@code min}, where requests meet little queueing; the no-load latency only
 * falls (a cold JIT or a busy neighbour early on is outgrown as soon as one request runs fast), and is
 * learned again when the model is loaded again. Where one model serves very different request sizes,
 * the smallest sets the no-load latency: raise {@code tolerance} for such a model.
 *
 * <p>Thread-safe; callers acquire before the work and report its end exactly once.
 */
public final class AdaptiveLimit {

    static final double SMOOTHING = 0.2;
    static final double MIN_GRADIENT = 0.5;
    static final double DROP_BACKOFF = 0.9;

    private final int min;
    private final int max;
    private final double tolerance;
    private final int window;

    private double limit;
    private long drops;
    private int inflight;
    private long noLoadNanos = Long.MAX_VALUE;
    private int samples;
    private int successes;
    private long sumNanos;
    private boolean dropped;
    private int busiest;

    /**
     * @param min the limit it starts at and never goes below (at least 1)
     * @param max the limit it never exceeds (the bulkhead's capacity)
     * @param tolerance how many times the no-load latency a window may take before the limit shrinks (&gt; 1)
     * @param window finished requests per adjustment
     */
    public AdaptiveLimit(int min, int max, double tolerance, int window) {
        if (min < 1 || max < min) {
            throw new IllegalArgumentException("adaptive limit needs 1 <= min <= max, was " + min + ".." + max);
        }
        if (!(tolerance > 1)) {
            throw new IllegalArgumentException("admission.adaptive.tolerance must be > 1, was " + tolerance);
        }
        if (window < 1) {
            throw new IllegalArgumentException("admission.adaptive.window must be >= 1, was " + window);
        }
        this.min = min;
        this.max = max;
        this.tolerance = tolerance;
        this.window = window;
        this.limit = min;
    }

    /** Whether {@link #tryAcquire()} would refuse now; takes nothing. */
    public synchronized boolean full() {
        return inflight >= limit();
    }

    /** Takes a slot if fewer than {@link #limit()} requests are in flight; false means reject now. */
    public synchronized boolean tryAcquire() {
        if (inflight >= limit()) {
            return false;
        }
        inflight++;
        busiest = Math.max(busiest, inflight);
        return true;
    }

    /**
     * Takes a slot even at the limit, for a request that took the place of a queued one of a lower priority level: that
     * one gives its slot back as its call ends (at once, or a moment later on its own event loop). Reported as {@link
     * #tryAcquire()}'s are.
     */
    public synchronized void acquirePast() {
        inflight++;
        busiest = Math.max(busiest, inflight);
    }

    /** A request admitted by {@link #tryAcquire()} was answered {@code latencyNanos} after admission. */
    public synchronized void succeeded(long latencyNanos) {
        latencyNanos = Math.max(1, latencyNanos); // a clock that read no time at all must not divide 0 by 0
        inflight--;
        successes++;
        sumNanos += latencyNanos;
        noLoadNanos = Math.min(noLoadNanos, latencyNanos);
        sample();
    }

    /** A request admitted by {@link #tryAcquire()} ran out of time or failed in the runtime: overload. */
    public synchronized void dropped() {
        inflight--;
        drops++;
        dropped = true;
        sample();
    }

    /** A request admitted by {@link #tryAcquire()} ended without saying anything about load (cancelled, bad input). */
    public synchronized void ignored() {
        inflight--;
    }

    /**
     * Whether a request given {@code budgetNanos} from admission to its deadline could have been answered
     * by an unloaded model with the tolerance to spare; true while no answer has taught the no-load latency.
     */
    public synchronized boolean couldMeet(long budgetNanos) {
        return noLoadNanos == Long.MAX_VALUE || budgetNanos >= tolerance * noLoadNanos;
    }

    /** Requests dropped since the start: a deadline passed, or the runtime failed. */
    synchronized long drops() {
        return drops;
    }

    /** Requests the limit lets in at once now. */
    public synchronized int limit() {
        return (int) limit;
    }

    /** Requests admitted and not yet ended. */
    public synchronized int inflight() {
        return inflight;
    }

    /** The no-load latency learned so far, in nanoseconds; {@link Long#MAX_VALUE} before the first answer. */
    public synchronized long noLoadNanos() {
        return noLoadNanos;
    }

    private void sample() {
        if (++samples < window) {
            return;
        }
        if (dropped) {
            limit = Math.max(min, limit * DROP_BACKOFF);
        } else if (successes > 0 && busiest >= limit / 2) {
            double mean = (double) sumNanos / successes;
            double gradient = Math.max(MIN_GRADIENT, Math.min(1.0, tolerance * noLoadNanos / mean));
            double target = limit * gradient + Math.sqrt(limit);
            limit = Math.max(min, Math.min(max, (1 - SMOOTHING) * limit + SMOOTHING * target));
        }
        samples = 0;
        successes = 0;
        sumNanos = 0;
        dropped = false;
        busiest = inflight;
    }
}
