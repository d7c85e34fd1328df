package io.sluice.config;

/**
 * The names of Sluice's two Redis clients ({@code io.quarkus.redis.client.RedisClientName}), each with its own
 * connection pool: rate-limit buckets and the cache's L2. A burst of large cache reads and writes then never makes
 * a bucket's take wait for a connection, and each can point at its own Redis ({@code quarkus.redis.<name>.hosts},
 * both {@code quarkus.redis.hosts} unless set), so that the cache can live on a Redis that evicts and the buckets on
 * one that does not.
 */
public final class RedisClients {

    /** The client of the shared rate-limit buckets and the replica count. */
    public static final String BUCKETS = "buckets";

    /** The client of the response cache's shared tier (L2). */
    public static final String CACHE = "cache";

    private RedisClients() {}
}
