package io.sluice.admission;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.redis.client.Redis;
import io.vertx.mutiny.redis.client.Request;
import io.vertx.mutiny.redis.client.Response;
import io.vertx.mutiny.redis.client.Command;
import java.util.function.LongSupplier;

/**
 * Token buckets shared by every replica, in Redis. One atomic Lua script per take refills the bucket
 * from the time since its last take, takes a token if there is one, and stores the bucket as a hash
 * {@code {t: tokens, ts: millis}} that expires once it would be full again anyway. Because the state
 * lives in Redis, a bucket outlives the restart of any replica.
 *
 * <p>Time is Redis's own clock ({@code TIME}, read inside the script), so every replica's takes are judged
 * on one clock: a replica whose clock runs ahead cannot stamp a bucket in the future and stall every
 * other replica's refill until that time comes. Tests inject a clock in milliseconds instead, passed
 * to the script; time that runs backwards never refills.
 */
public final class RedisBuckets {

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
            local state = redis.call('HMGET', KEYS[1], 't', 'ts')
            local tokens = tonumber(state[1])
            local ts = tonumber(state[2])
            if tokens == nil or ts == nil then
              tokens = burst
              ts = now
            end
            if now > ts then
              tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
              ts = now
            end
            local allowed = 0
            if tokens >= 1 then
              tokens = tokens - 1
              allowed = 1
            end
            redis.call('HMSET', KEYS[1], 't', tostring(tokens), 'ts', tostring(ts)) -- HSET takes one field before Redis 4
            redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
            return {allowed, tostring(tokens)}
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

    private static Take result(Limit limit, Response response) {
        boolean allowed = response.get(0).toInteger() == 1;
        double tokens = Double.parseDouble(response.get(1).toString());
        return Take.of(limit, allowed, tokens);
    }
}
