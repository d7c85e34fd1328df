package io.sluice.admission;

import java.util.function.LongSupplier;

/**
 * A token bucket in this process: {@code rate} tokens per second up to {@code burst}, one token per
 * request. Time comes from an injected nanosecond clock, so tests control refill exactly.
 */
public final class TokenBucket {

    private final Limit limit;
    private final LongSupplier nanoClock;
    private double tokens;
    private long lastNanos;

    /** A full bucket. */
    public TokenBucket(Limit limit, LongSupplier nanoClock) {
        this(limit, nanoClock, limit.burst());
    }

    private TokenBucket(Limit limit, LongSupplier nanoClock, double tokens) {
        this.limit = limit;
        this.nanoClock = nanoClock;
        this.tokens = tokens;
        this.lastNanos = nanoClock.getAsLong();
    }

    /** A bucket of {@code next}'s shape on the same clock, as full, in fractions of its burst, as this one is now. */
    public synchronized TokenBucket reshaped(Limit next) {
        refill();
        return new TokenBucket(next, nanoClock, tokens / limit.burst() * next.burst());
    }

    /** Takes one token if there is one; says how many are left, or how long until the next. */
    public synchronized Take take() {
        refill();
        boolean allowed = tokens >= 1;
        if (allowed) {
            tokens -= 1;
        }
        return Take.of(limit, allowed, tokens);
    }

    /**
     * Puts back one token a take removed, up to the burst: the request it admitted was one its model could not serve
     * at all (a 503 for a model not ready or behind an open breaker), which is not the tenant's use of its rate.
     */
    public synchronized void giveBack() {
        refill();
        tokens = Math.min(limit.burst(), tokens + 1);
    }

    /** Lowers the tokens to {@code fraction} of the burst if they are more (after refilling). */
    public synchronized void atMost(double fraction) {
        refill();
        tokens = Math.min(tokens, Math.max(0, fraction) * limit.burst());
    }

    private void refill() {
        long now = nanoClock.getAsLong();
        if (now - lastNanos > 0) { // nanoTime may wrap: only differences are meaningful
            tokens = Math.min(limit.burst(), tokens + (now - lastNanos) * limit.rate() / 1e9);
            lastNanos = now;
        }
    }
}
