package io.sluice.cache;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Redis;
import io.vertx.mutiny.redis.client.Request;
import io.vertx.mutiny.redis.client.Response;
import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * The shared tier: binary entries in Redis under {@code <prefix><sha256 hex>}, written with a TTL and
 * only up to a size cap. Every call is bounded by a timeout; a failure or a timeout makes the tier
 * step aside for a retry interval, so a Redis outage costs at most one timeout per interval.
 */
final class RedisTier {

    /** What a lookup found. */
    enum Lookup {
        HIT,
        MISS,
        ERROR
    }

    /** A lookup's outcome and, for a hit, the bytes. */
    record Found(Lookup lookup, byte[] bytes) {}

    private static final Found MISS = new Found(Lookup.MISS, null);
    private static final Found ERROR = new Found(Lookup.ERROR, null);

    private final Redis redis;
    private final String prefix;
    private final Duration ttl;
    private final int maxEntryBytes;
    private final Duration timeout;
    private final Duration retryInterval;
    private final LongSupplier nanoClock;
    private volatile long retryAtNanos;

    RedisTier(Redis redis, String prefix, Duration ttl, int maxEntryBytes, Duration timeout, Duration retryInterval,
            LongSupplier nanoClock) {
        this.redis = redis;
        this.prefix = prefix;
        this.ttl = ttl;
        this.maxEntryBytes = maxEntryBytes;
        this.timeout = timeout;
        this.retryInterval = retryInterval;
        this.nanoClock = nanoClock;
        this.retryAtNanos = nanoClock.getAsLong();
    }

    /** Looks {@code key} up; never fails and never takes longer than the timeout. */
    Uni<Found> get(CacheKey key) {
        if (away()) {
            return Uni.createFrom().item(ERROR);
        }
        return redis.send(Request.cmd(Command.GET).arg(prefix + key.hex()))
                .ifNoItem().after(timeout).fail()
                .map(RedisTier::found)
                .onFailure().recoverWithItem(failure -> {
                    if (failure instanceof io.vertx.redis.client.Response reply
                            && String.valueOf(reply).startsWith("WRONGTYPE")) {
                        return MISS; // Redis answered, with an error for this key: the write replaces that value
                    }
                    // Redis away, slow, or refusing every command (NOAUTH, LOADING, MASTERDOWN): every lookup skips
                    // it for the retry interval
                    stepAside();
                    return ERROR;
                });
    }

    /** Writes {@code bytes} under {@code key} unless they exceed the cap; returns whether Redis took them. */
    Uni<Boolean> put(CacheKey key, byte[] bytes) {
        if (bytes.length > maxEntryBytes || away()) {
            return Uni.createFrom().item(false);
        }
        return redis.send(Request.cmd(Command.SET).arg(prefix + key.hex()).arg(bytes).arg("PX").arg(ttl.toMillis()))
                .ifNoItem().after(timeout).fail()
                .map(r -> true)
                .onFailure().recoverWithItem(failure -> {
                    if (!(failure instanceof io.vertx.redis.client.Response)) { // not Redis refusing: Redis away
                        stepAside();
                    } // a refusal (OOM when full and evicting nothing, READONLY) leaves the reads on
                    return false;
                });
    }

    private static Found found(Response response) {
        return response == null ? MISS : new Found(Lookup.HIT, response.toBytes());
    }

    private boolean away() {
        return nanoClock.getAsLong() - retryAtNanos < 0;
    }

    private void stepAside() {
        retryAtNanos = nanoClock.getAsLong() + retryInterval.toNanos();
    }
}
