package io.sluice.config;

import io.sluice.admission.Tenants;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Redis;
import io.vertx.mutiny.redis.client.Request;
import io.vertx.mutiny.redis.client.Response;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * The Redis tests' shared settings: auth on, and tenant {@code t} (its key given) with a bucket of 100 in Redis that
 * refills nothing a slow run could see, so that every take shows in its field; the fallback, once used, is kept for
 * an hour, so a take that went there stays counted.
 */
final class RedisTenantBucket {

    /** The bucket's key in Redis ({@code key-prefix} and the policy, the tenant's name) and its tokens' field. */
    static final String KEY = "sluice:rl:t";
    static final String FIELD = "t";
    static final int BURST = 100;

    private RedisTenantBucket() {}

    /** The settings, with {@code more} on top. */
    static Map<String, String> settings(String apiKey, Map<String, String> more) {
        Map<String, String> settings = new HashMap<>(Map.of(
                "sluice.auth.enabled", "true",
                "sluice.rate-limit.enabled", "true",
                "sluice.rate-limit.store", "redis",
                "sluice.rate-limit.redis.timeout", "500ms", // well past any pause of a busy machine
                "sluice.rate-limit.redis.retry-interval", "1h",
                "sluice.rate-limit.redis.replicas", "1",
                "sluice.tenants.t.api-key-sha256", Tenants.sha256(apiKey),
                "sluice.tenants.t.rate-limit.rate", "0.0001",
                "sluice.tenants.t.rate-limit.burst", Integer.toString(BURST)));
        settings.putAll(more);
        return settings;
    }

    /** The tokens the bucket holds in Redis now. */
    static double tokens(Redis redis) {
        return Double.parseDouble(send(redis, Request.cmd(Command.HGET).arg(KEY).arg(FIELD)));
    }

    /** {@code request}'s answer as text; empty for none. */
    static String send(Redis redis, Request request) {
        Response response = redis.send(request).await().atMost(Duration.ofSeconds(10));
        return response == null ? "" : response.toString();
    }
}
