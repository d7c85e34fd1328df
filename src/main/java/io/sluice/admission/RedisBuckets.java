package io.sluice.admission;

import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.UniEmitter;
import io.vertx.mutiny.redis.client.Redis;
import io.vertx.mutiny.redis.client.Request;
import io.vertx.mutiny.redis.client.Response;
import io.vertx.mutiny.redis.client.Command;
import java.time.Duration;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import org.jboss.logging.Logger;

/**
 * Token buckets shared by every replica, in Redis. One atomic Lua script per take refills the bucket
 * from the time since its last take, takes a token if there is one, and stores the bucket as a hash
 * {@code {t: tokens, ts: millis}} that expires once it would be full again anyway. Because the state
 * lives in Redis, a bucket outlives the restart of any replica.
 *
 * <p>A key of the bucket's name that holds another type (another writer's value under the prefix) is replaced
 * by a full bucket, as the cache's write replaces such a value: a failed take would count as Redis away and
 * send every tenant to its fallback bucket for the retry interval, again each time that tenant called.
 *
 * <p>Time is Redis's own clock ({@code TIME}, read inside the script), so every replica's takes are judged
 * on one clock: a replica whose clock runs ahead cannot stamp a bucket in the future and stall every
 * other replica's refill until that time comes. Tests inject a clock in milliseconds instead, passed
 * to the script; time that runs backwards never refills.
 *
 * <p>A take that Redis answers after the caller stopped waiting ({@link #take(String, Limit, Duration)})
 * is given back: the caller was judged by its fallback bucket instead, and must not be charged twice.
 */
public final class RedisBuckets {

    private static final Logger LOG = Logger.getLogger(RedisBuckets.class);

    /**
     * KEYS[1] = bucket; ARGV = rate per second, burst, and now in ms or "" for Redis's clock. Returns
     * {allowed, tokens as text}. Reading TIME before writing needs a script's effects replicated: always so
     * from Redis 5, asked for with {@code redis.replicate_commands()} on 3.2 and 4.
     */
    static final String SCRIPT = """
            local rate = tonumber(ARGV[1])
            local burst = tonumber(ARGV[2])
            local now = tonumber(ARGV[3])
            if now == nil then
              -- Redis 3.2 and 4 allow writes after TIME only with effects replication (5+ always use it)
              pcall(redis.replicate_commands)
              local t = redis.call('TIME')
              now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            end
            local read, state = pcall(redis.call, 'HMGET', KEYS[1], 't', 'ts')
            if not read then
              -- another writer's value under the bucket's key (WRONGTYPE): the bucket starts afresh in its place,
              -- rather than the take failing and sending every tenant to the fallback as if Redis were away
              redis.call('DEL', KEYS[1])
              state = {false, false}
            end
            local tokens = tonumber(state[1])
            local ts = tonumber(state[2])
            if tokens == nil or ts == nil then
              tokens = burst
              ts = now
            end
            if now > ts then
              tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
              ts = now
            elseif now < ts then
              -- Redis's clock stepped back (a failover, NTP): no refill for it, but the refill goes on from now
              ts = now
            end
            local allowed = 0
            if tokens >= 1 then
              tokens = tokens - 1
              allowed = 1
            end
            -- 17 significant digits, which read back as the same double: tostring's 14 would turn a refusal's
            -- 0.99999999999999989 tokens into "1", a refusal that says a token is left and to retry in no time
            local text = string.format('%.17g', tokens)
            -- whole numbers as '%d': Redis 7.2.0 to 7.2.4 turn one that is a multiple of 10^8 into '1e+08' (redis#13113),
            -- which PEXPIRE refuses, and a failed take reads as Redis away. The expiry is capped at 10^15 ms (31,700
            -- years), which '%d' holds, whatever burst / rate asks
            redis.call('HMSET', KEYS[1], 't', text, 'ts', string.format('%d', ts)) -- HSET takes one field before Redis 4
            redis.call('PEXPIRE', KEYS[1], string.format('%d', math.min(1e15, math.ceil(burst * 1000 / rate) + 1000)))
            return {allowed, text}
            """;

    /**
     * KEYS[1] = bucket; ARGV[1] = burst. Puts back one token a late take removed, up to the burst. A bucket
     * that expired meanwhile would be full anyway, and is left alone; its {@code ts} stays, so the refill
     * from then on is what it would have been without the take.
     */
    static final String REFUND = """
            local tokens = tonumber(redis.call('HGET', KEYS[1], 't'))
            if tokens == nil then
              return 0
            end
            redis.call('HSET', KEYS[1], 't', string.format('%.17g', math.min(tonumber(ARGV[1]), tokens + 1)))
            return 1
            """;

    private final Redis redis;
    private final LongSupplier wallClockMillis;
    private final String keyPrefix;

    /** Buckets on Redis's own clock. */
    public RedisBuckets(Redis redis, String keyPrefix) {
        this(redis, null, keyPrefix);
    }

    /**
     * @param redis the client
     * @param wallClockMillis the time, in milliseconds since the epoch; null for Redis's own clock
     * @param keyPrefix prefix of every bucket's key
     */
    public RedisBuckets(Redis redis, LongSupplier wallClockMillis, String keyPrefix) {
        this.redis = redis;
        this.wallClockMillis = wallClockMillis;
        this.keyPrefix = keyPrefix;
    }

    /** Takes one token from the bucket {@code name}, which has the shape {@code limit}. */
    public Uni<Take> take(String name, Limit limit) {
        Request eval = Request.cmd(Command.EVAL)
                .arg(SCRIPT).arg(1).arg(keyPrefix + name)
                .arg(Double.toString(limit.rate())).arg(limit.burst())
                .arg(wallClockMillis == null ? "" : Long.toString(wallClockMillis.getAsLong()));
        return redis.send(eval).map(response -> result(limit, response));
    }

    /**
     * Takes one token, waiting for Redis at most {@code bound}. The {@link Uni} fails with a {@link
     * TimeoutException} when Redis has not answered by then, and with Redis's failure when it fails first;
     * either way the caller falls back. A token Redis takes after the bound, or after the caller cancelled, is
     * given back ({@link #REFUND}). Each subscription sends one take.
     */
    public Uni<Take> take(String name, Limit limit, Duration bound) {
        return Uni.createFrom().deferred(() -> { // one take per subscription, sent when subscribed
            Pending pending = new Pending(name, limit);
            take(name, limit).subscribe().with(pending::answered, pending::failed);
            return Uni.createFrom().<Take>emitter(pending::await)
                    .ifNoItem().after(bound).recoverWithUni(() -> pending.abandon(bound))
                    .onCancellation().invoke(pending::cancel); // the caller left: a token Redis takes goes back
        });
    }

    /** Puts one token back into the bucket {@code name} (shape {@code limit}), up to its burst. */
    public Uni<Boolean> refund(String name, Limit limit) {
        Request eval = Request.cmd(Command.EVAL).arg(REFUND).arg(1).arg(keyPrefix + name).arg(limit.burst());
        return redis.send(eval).map(response -> response.toInteger() == 1);
    }

    /**
     * One take in flight: answered, failed, or abandoned by a caller that stopped waiting, whichever comes
     * first. An answer that comes after the abandonment and took a token gives it back.
     */
    private final class Pending {
        private static final int WAITING = 0;
        private static final int SETTLED = 1;
        private static final int ABANDONED = 2;

        private final String name;
        private final Limit limit;
        private final AtomicInteger state = new AtomicInteger(WAITING);
        private volatile Take take;
        private volatile Throwable failure;
        private volatile UniEmitter<? super Take> emitter;

        Pending(String name, Limit limit) {
            this.name = name;
            this.limit = limit;
        }

        void answered(Take answer) {
            take = answer;
            if (state.compareAndSet(WAITING, SETTLED)) {
                emit();
            } else if (answer.allowed()) {
                refund(name, limit).subscribe().with(
                        refunded -> LOG.debugf("bucket %s: a late take was given back", name),
                        e -> LOG.debugf("bucket %s: a late take could not be given back (%s)", name, e));
            }
        }

        void failed(Throwable cause) {
            failure = cause;
            if (state.compareAndSet(WAITING, SETTLED)) {
                emit();
            }
        }

        void await(UniEmitter<? super Take> e) {
            emitter = e;
            if (state.get() == SETTLED) {
                emit();
            }
        }

        /** The caller left before the answer (a client that went away): a token taken later is given back. */
        void cancel() {
            state.compareAndSet(WAITING, ABANDONED);
        }

        /** The caller stops waiting: a timeout, unless the answer came in the meantime. */
        Uni<Take> abandon(Duration bound) {
            if (state.compareAndSet(WAITING, ABANDONED)) {
                return Uni.createFrom().failure(new TimeoutException("Redis did not answer within " + bound));
            }
            return take != null ? Uni.createFrom().item(take) : Uni.createFrom().failure(failure);
        }

        private void emit() {
            UniEmitter<? super Take> e = emitter;
            if (e != null) {
                if (take != null) {
                    e.complete(take);
                } else {
                    e.fail(failure);
                }
            }
        }
    }

    private static Take result(Limit limit, Response response) {
        boolean allowed = response.get(0).toInteger() == 1;
        double tokens = Double.parseDouble(response.get(1).toString());
        return Take.of(limit, allowed, tokens);
    }
}
