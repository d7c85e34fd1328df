package io.sluice.config;

/** Where token buckets live. */
public enum BucketStore {
    /** In this process: each replica limits on its own. */
    LOCAL,
    /** In Redis: every replica takes from the same bucket, and a bucket outlives a restart. */
    REDIS
}
