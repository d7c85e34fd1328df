package io.sluice.admission;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Redis;
import io.vertx.mutiny.redis.client.Request;
import java.time.Duration;
import java.util.UUID;
import java.util.function.LongSupplier;

/**
 * How many replicas share the buckets in Redis, counted there: each replica stamps its own member of a
 * sorted set on every {@link #refresh()}, members not stamped for {@link #expiry} drop out, and the size
 * of the set is the count. While Redis is away the last count holds, so the fallback buckets keep the
 * share they had when the outage began. The set's key starts with {@code /}, which no bucket's name
 * can ({@code <tenant>} or {@code <tenant>/<model>}, and a tenant's name is neither empty nor holds
 * {@code /}).
 */
public final class ReplicaCount {

    /**
     * KEYS[1] = the set; ARGV = this replica's member, the expiry in ms, and now in ms or "" for Redis's
     * clock. Stamps the member, drops the stale ones, keeps the key a while past the expiry, returns the
     * count.
     */
    static final String SCRIPT = """
            local now = tonumber(ARGV[3])
            if now == nil then
              pcall(redis.replicate_commands)
              local t = redis.call('TIME')
              now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            end
            local expiry = tonumber(ARGV[2])
            redis.call('ZADD', KEYS[1], now, ARGV[1])
            redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - expiry)
            redis.call('PEXPIRE', KEYS[1], 2 * expiry)
            return redis.call('ZCARD', KEYS[1])
            """;

    /** How often a replica stamps itself. */
    public static final Duration INTERVAL = Duration.ofSeconds(5);
    /** A replica not seen for this long no longer counts: three missed stamps. */
    static final Duration EXPIRY = INTERVAL.multipliedBy(3);

    private final Redis redis;
    private final String key;
    private final String member = UUID.randomUUID().toString();
    private final Duration expiry;
    private final LongSupplier wallClockMillis;
    private volatile int count = 1;
    private volatile boolean counted;

    /** A count on Redis's own clock, with the default expiry. */
    public ReplicaCount(Redis redis, String keyPrefix) {
        this(redis, keyPrefix, EXPIRY, null);
    }

    /**
     * @param wallClockMillis the time in milliseconds since the epoch; null for Redis's own clock
     */
    ReplicaCount(Redis redis, String keyPrefix, Duration expiry, LongSupplier wallClockMillis) {
        this.redis = redis;
        this.key = keyPrefix + "/replicas";
        this.expiry = expiry;
        this.wallClockMillis = wallClockMillis;
    }

    /** Stamps this replica and reads the count; on failure the last count stays. */
    public Uni<Integer> refresh() {
        Request eval = Request.cmd(Command.EVAL).arg(SCRIPT).arg(1).arg(key)
                .arg(member).arg(expiry.toMillis())
                .arg(wallClockMillis == null ? "" : Long.toString(wallClockMillis.getAsLong()));
        return redis.send(eval).map(response -> {
            count = Math.max(1, response.toInteger());
            counted = true;
            return count;
        });
    }

    /** Whether Redis has counted the replicas at least once since this replica started. */
    public boolean counted() {
        return counted;
    }

    /** The replicas last counted, this one included; 1 until the first count. */
    public int current() {
        return count;
    }
}
