package io.sluice.inference;

import java.time.Duration;

/**
 * What a token bucket said about one request, in the terms of the IETF RateLimit header fields:
 * a policy of {@code quota} requests per {@code window}, {@code remaining} of them left now, and
 * how long until the next one.
 *
 * @param policy the policy's name (the tenant, and the model when the limit is per model)
 * @param burst the bucket's size: requests allowed at once
 * @param rate tokens per second, sustained
 * @param window seconds the bucket takes to refill from empty, at least 1
 * @param tokens tokens left after this request, fractions included; 0 after a refusal
 * @param retryAfter time until the next token; zero when one is available
 * @param refund gives the request's token back to the bucket it came from
 */
public record RateLimitState(String policy, long burst, double rate, long window, double tokens, Duration retryAfter,
        Refund refund) {

    /**
     * Puts a request's token back where it was taken (this process's bucket, Redis, or the fallback bucket), for a
     * request its model could not serve at all (not ready, its breaker open): the tenant is not charged for a
     * broken or departing model. The rate limiter's refunds give back at most once, however often called.
     */
    @FunctionalInterface
    public interface Refund {
        /** Nothing to give back: a refusal took no token. */
        Refund NONE = () -> { };

        void giveBack();
    }

    /** A state of {@code remaining} whole tokens, whose token is not given back. */
    public RateLimitState(String policy, long burst, double rate, long window, long remaining, Duration retryAfter) {
        this(policy, burst, rate, window, (double) remaining, retryAfter, Refund.NONE);
    }

    /** The {@code r} of the RateLimit field: whole tokens left after this request. */
    public long remaining() {
        return (long) Math.floor(Math.max(0, tokens));
    }

    /**
     * The {@code q} of RateLimit-Policy: the burst, or the whole requests the rate allows in the window
     * when that is more, so that q ÷ w falls short of the sustained rate by less than one request per window
     * (rate 100, burst 10: q=100;w=1, not q=10; rate 3, burst 10: q=12;w=4; rate 0.3, burst 1: q=1;w=4, as
     * whole numbers cannot say 0.3 and a client that keeps to 0.25 is never refused).
     */
    public long quota() {
        return Math.max(burst, (long) Math.floor(rate * window));
    }

    /**
     * The {@code t} of the RateLimit field: with no token left, the wait for the next one (as
     * Retry-After); otherwise the seconds until the bucket would be full, at most the window.
     */
    public long resetSeconds() {
        if (remaining() == 0) {
            return retryAfterSeconds();
        }
        // from the tokens the bucket holds, not the whole ones: a bucket of 1.99 of 3 at 0.01/s is full in 101 s, not 200
        return Math.max(0, Math.min(window, (long) Math.ceil((burst - tokens) / rate)));
    }

    /** Retry-After in whole seconds, rounded up, at least 1. */
    public long retryAfterSeconds() {
        // from the seconds and nanoseconds apart: the nanoseconds of a wait near Long.MAX_VALUE (a rate of 1e-10/s)
        // plus a second's rounding would wrap to a Retry-After of 1
        return Math.max(1, retryAfter.getSeconds() + (retryAfter.getNano() > 0 ? 1 : 0));
    }
}
