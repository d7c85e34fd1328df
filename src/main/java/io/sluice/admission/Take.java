package io.sluice.admission;

import java.time.Duration;

/**
 * What one take from a bucket said.
 *
 * @param allowed whether the request got a token
 * @param limit the bucket's shape
 * @param remaining whole tokens left
 * @param retryAfter time until a token is available; zero when one is
 */
public record Take(boolean allowed, Limit limit, long remaining, Duration retryAfter) {

    /** The result for a bucket that holds {@code tokens} after the take. */
    static Take of(Limit limit, boolean allowed, double tokens) {
        double missing = 1 - tokens;
        Duration wait = missing <= 0 ? Duration.ZERO : Duration.ofNanos((long) Math.ceil(missing / limit.rate() * 1e9));
        return new Take(allowed, limit, (long) Math.floor(Math.max(0, tokens)), wait);
    }
}
