package io.sluice.admission;

import java.time.Duration;

/**
 * What one take from a bucket said.
 *
 * @param allowed whether the request got a token
 * @param limit the bucket's shape
 * @param remaining whole tokens left
 * @param retryAfter time until a token is available; zero when one is
 * @param tokens the tokens the bucket holds after the take, fractions included (what the time until it is full
 *     is counted from)
 */
public record Take(boolean allowed, Limit limit, long remaining, Duration retryAfter, double tokens) {

    /**
     * The result for a bucket that holds {@code tokens} after the take. A refusal says no token is left and a wait
     * of at least 1 ns, whatever rounding brought {@code tokens} to 1: a client told to retry at once, with a
     * token left, would only be refused again.
     */
    static Take of(Limit limit, boolean allowed, double tokens) {
        double missing = 1 - tokens;
        Duration wait = missing <= 0 ? Duration.ZERO : Duration.ofNanos((long) Math.ceil(missing / limit.rate() * 1e9));
        if (!allowed) {
            return new Take(false, limit, 0, wait.isZero() ? Duration.ofNanos(1) : wait, Math.max(0, tokens));
        }
        return new Take(true, limit, (long) Math.floor(Math.max(0, tokens)), wait, Math.max(0, tokens));
    }

    /** {@link #retryAfter} in whole milliseconds, rounded up, as messages quote it: never sooner than a token. */
    public long retryAfterMillis() {
        return Math.max(0, (retryAfter.toNanos() + 999_999) / 1_000_000);
    }
}
