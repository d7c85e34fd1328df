package io.sluice.inference;

/** Where a response's outputs came from; the {@code Sluice-Cache} header and the gRPC {@code sluice_cache} parameter. */
public enum CacheStatus {
    /** The model has no response cache. */
    NONE(null),
    /** Computed by the model (possibly once for several identical requests in flight together). */
    MISS("miss"),
    /** From this process's cache. */
    HIT_L1("hit-l1"),
    /** From the cache shared in Redis. */
    HIT_L2("hit-l2");

    private final String label;

    CacheStatus(String label) {
        this.label = label;
    }

    /** The wire value; null for {@link #NONE}, which is never sent. */
    public String label() {
        return label;
    }
}
