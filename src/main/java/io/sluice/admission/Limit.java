package io.sluice.admission;

/**
 * A token bucket's shape.
 *
 * @param rate tokens per second, sustained
 * @param burst most tokens the bucket holds
 */
public record Limit(double rate, int burst) {

    public Limit {
        if (!(rate > 0)) {
            throw new IllegalArgumentException("rate must be > 0, was " + rate);
        }
        if (burst < 1) {
            throw new IllegalArgumentException("burst must be >= 1, was " + burst);
        }
    }

    /** Whole seconds the bucket takes to refill from empty, at least 1: the {@code w} of RateLimit-Policy. */
    public long windowSeconds() {
        return Math.max(1, (long) Math.ceil(burst / rate));
    }

    /** The same bucket with a share of the rate and burst, for a fallback that stands in for one of {@code n} replicas. */
    public Limit share(int n) {
        return n <= 1 ? this : new Limit(rate / n, Math.max(1, burst / n));
    }
}
