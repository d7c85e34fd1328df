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
        this.limit = limit;
        this.nanoClock = nanoClock;
        this.tokens = limit.burst();
        this.lastNanos = nanoClock.getAsLong();
    }

    /** Takes one token if there is one; says how many are left, or how long until the next. */
    public synchronized Take take() {
        long now = nanoClock.getAsLong();
        if (now > lastNanos) {
            tokens = Math.min(limit.burst(), tokens + (now - lastNanos) * limit.rate() / 1e9);
            lastNanos = now;
        }
        boolean allowed = tokens >= 1;
        if (allowed) {
            tokens -= 1;
        }
        return Take.of(limit, allowed, tokens);
    }
}
