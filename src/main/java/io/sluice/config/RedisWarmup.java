package io.sluice.config;

import io.quarkus.redis.client.RedisClientName;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Redis;
import io.vertx.mutiny.redis.client.Request;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import java.time.Duration;
import org.jboss.logging.Logger;

/**
 * Opens the connections to Redis when the server starts, for each client something uses ({@link RedisClients}: the
 * rate-limit buckets with {@code store=redis}, the cache's L2). Without this, the first request's take opened the
 * connection and loaded the client's classes, went past the 25 ms bound, and was served by the local fallback:
 * counted as a fallback and logged as Redis being unreachable on every start. It never delays readiness, and a
 * failure here only logs: the request path judges Redis on its own.
 */
@ApplicationScoped
public class RedisWarmup {
    private static final Logger LOG = Logger.getLogger(RedisWarmup.class);
    static final Duration BOUND = Duration.ofSeconds(10);

    void onStart(@Observes StartupEvent start, SluiceConfig config,
            @RedisClientName(RedisClients.BUCKETS) Instance<Redis> buckets,
            @RedisClientName(RedisClients.CACHE) Instance<Redis> cache) {
        if (config.rateLimit().enabled() && config.rateLimit().store() == BucketStore.REDIS) {
            open(RedisClients.BUCKETS, buckets.get());
        }
        if (config.cache().l2().enabled()) {
            open(RedisClients.CACHE, cache.get());
        }
    }

    private static void open(String name, Redis client) {
        ping(client).subscribe().with(
                ok -> LOG.debugf("Redis answered PING at startup (client %s)", name),
                failure -> LOG.warnf("Redis did not answer at startup (client %s: %s); requests fall back until it"
                        + " does", name, failure.toString()));
    }

    /** One PING, which makes the client open a connection; fails after {@link #BOUND}. */
    static Uni<String> ping(Redis redis) {
        return redis.send(Request.cmd(Command.PING)).ifNoItem().after(BOUND).fail()
                .map(response -> response == null ? "" : response.toString());
    }
}
