package io.sluice.cache;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Redis;
import io.vertx.mutiny.redis.client.Request;
import io.vertx.mutiny.redis.client.Response;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * The shared tier: binary entries in Redis under {@code <prefix><sha256 hex>}, written with a TTL and
 * only up to a size cap. Every call is bounded by a timeout; a failure or a timeout makes the tier
 * step aside for a retry interval, so a Redis outage costs at most one timeout per interval.
 *
 * <p>A write's caller stops waiting at the timeout, but the write itself waits on in the client (for a pooled
 * connection, then for Redis's reply), holding its bytes, until Redis answers or the connection fails: on a
 * Redis that stalls without closing its connections, that is minutes. So the bytes of writes Redis has not
 * answered are counted, up to {@link #pendingLimit}: a write past it is not sent.
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
    private final long maxPendingBytes;
    private final AtomicLong pendingBytes = new AtomicLong();
    private volatile long retryAtNanos;

    RedisTier(Redis redis, String prefix, Duration ttl, int maxEntryBytes, Duration timeout, Duration retryInterval,
            LongSupplier nanoClock) {
        this(redis, prefix, ttl, maxEntryBytes, timeout, retryInterval, nanoClock, pendingLimit(maxEntryBytes));
    }

    RedisTier(Redis redis, String prefix, Duration ttl, int maxEntryBytes, Duration timeout, Duration retryInterval,
            LongSupplier nanoClock, long maxPendingBytes) {
        this.maxPendingBytes = maxPendingBytes;
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
                .map(this::found)
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

    /**
     * The most bytes of writes Redis has not answered: four entries of the largest size, and at least 16 MiB (at
     * 1,000 writes a second of MiniLM's 786 KB answers, a healthy Redis has about one such write out at a time).
     */
    static long pendingLimit(int maxEntryBytes) {
        return Math.max(4L * maxEntryBytes, 16L << 20);
    }

    /** Whether a write of {@code size} bytes would be sent now: under the entry cap, Redis not stepped aside, room left. */
    boolean takes(long size) {
        return size <= maxEntryBytes && !away() && pendingBytes.get() + size <= maxPendingBytes;
    }

    /** The bytes of writes sent and not yet answered by Redis (nor failed by the client). */
    long pendingBytes() {
        return pendingBytes.get();
    }

    /**
     * Writes {@code bytes} under {@code key} unless they exceed the cap, Redis is stepped aside, or the writes
     * Redis has not answered hold {@link #pendingLimit} already; returns whether Redis took them.
     */
    Uni<Boolean> put(CacheKey key, byte[] bytes) {
        if (bytes.length > maxEntryBytes || away() || !reserve(bytes.length)) {
            return Uni.createFrom().item(false);
        }
        // the write's own end, which the caller's timeout does not cancel, gives its bytes back
        Uni<Response> sent = redis.send(Request.cmd(Command.SET).arg(prefix + key.hex()).arg(bytes).arg("PX")
                .arg(ttl.toMillis())).memoize().indefinitely();
        sent.subscribe().with(r -> pendingBytes.addAndGet(-bytes.length), f -> pendingBytes.addAndGet(-bytes.length));
        return sent
                .ifNoItem().after(timeout).fail()
                .map(r -> true)
                .onFailure().recoverWithItem(failure -> {
                    if (!(failure instanceof io.vertx.redis.client.Response)) { // not Redis refusing: Redis away
                        stepAside();
                    } // a refusal (OOM when full and evicting nothing, READONLY) leaves the reads on
                    return false;
                });
    }

    /** Counts {@code size} more bytes pending; false, counting nothing, when that would pass the limit. */
    private boolean reserve(long size) {
        long now;
        do {
            now = pendingBytes.get();
            if (now + size > maxPendingBytes) {
                return false;
            }
        } while (!pendingBytes.compareAndSet(now, now + size));
        return true;
    }

    /** A value past this replica's entry cap (another replica's, set higher) is a miss: it is neither decoded nor kept. */
    private Found found(Response response) {
        if (response == null) {
            return MISS;
        }
        byte[] bytes = response.toBytes();
        return bytes.length > maxEntryBytes ? MISS : new Found(Lookup.HIT, bytes);
    }

    private boolean away() {
        return nanoClock.getAsLong() - retryAtNanos < 0;
    }

    private void stepAside() {
        retryAtNanos = nanoClock.getAsLong() + retryInterval.toNanos();
    }
}
