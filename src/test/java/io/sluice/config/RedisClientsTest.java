package io.sluice.config;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static io.sluice.config.RedisTenantBucket.send;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.redis.client.RedisClientName;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.sluice.Await;
import io.sluice.RedisResource;
import io.sluice.admission.RateLimiter;
import io.sluice.admission.Tenant;
import io.sluice.fixtures.OnnxModelWriter;
import io.sluice.fixtures.TinyModels;
import io.sluice.inference.RateLimitState;
import io.sluice.observability.MetricNames;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Redis;
import io.vertx.mutiny.redis.client.Request;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The rate-limit buckets and the cache's L2 use two Redis clients with their own connection pools
 * ({@link RedisClients}). Here the cache's pool has one connection, held by a blocked {@code BLPOP}: the cache's
 * lookups cannot get a connection and go to the model, while every take still goes to Redis at once. On one shared
 * client those takes would wait behind the cache for a connection, past their bound, and fall back.
 */
@QuarkusTest
@TestProfile(RedisClientsTest.Profile.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RedisClientsTest {

    private static final String KEY = "pools-key";
    private static final String HELD = "sluice:test:held";

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Path repo = TinyModels.newRepository("sluice-redis-clients");
            TinyModels.write(repo, "identity_int32", 1, TinyModels.identity(OnnxModelWriter.DataType.INT32));
            return RedisTenantBucket.settings(KEY, Map.ofEntries(
                    Map.entry("sluice.repository.paths", repo.toString()),
                    Map.entry("sluice.model-defaults.cache.enabled", "true"),
                    Map.entry("sluice.cache.l2.enabled", "true"),
                    Map.entry("sluice.cache.l2.retry-interval", "1ms"), // every request tries the cache's Redis
                    Map.entry("quarkus.redis.cache.max-pool-size", "1")));
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(RedisResource.class));
        }
    }

    @Inject
    MeterRegistry registry;

    @Inject
    RateLimiter limiter;

    @Inject
    @RedisClientName(RedisClients.CACHE)
    Redis cacheClient;

    @Test
    @Order(1) // before any request: the other test's requests would open both connections anyway
    void eachClientOpensItsOwnNamedConnectionAtStartup() {
        Await.serverReady(); // health only: no request has asked Redis for anything
        Vertx vertx = Vertx.vertx();
        Redis own = Redis.createClient(vertx, RedisResource.redis().uri());
        try {
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(
                    send(own, Request.cmd(Command.CLIENT).arg("LIST"))).contains("name=sluice-buckets", "name=sluice-cache"));
        } finally {
            own.close();
            vertx.closeAndAwait();
        }
    }

    @Test
    @Order(2)
    void takesDoNotWaitForTheCachesConnections() {
        Await.serverReady();
        Vertx vertx = Vertx.vertx();
        Redis own = Redis.createClient(vertx, RedisResource.redis().uri());
        try {
            // the cache client's one connection waits on a list nobody pushes to until the end
            cacheClient.send(Request.cmd(Command.BLPOP).arg(HELD).arg(60)).subscribe().with(r -> { }, f -> { });
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> send(own, Request.cmd(Command.INFO).arg("clients")).contains("blocked_clients:1"));

            int requests = 3;
            for (int i = 0; i < requests; i++) { // different inputs: each is a cache miss that asks Redis first
                given().contentType(ContentType.JSON).header("X-API-Key", KEY)
                        .body(Map.of("inputs", List.of(Map.of("name", "INPUT0", "datatype", "INT32",
                                "shape", List.of(1, 4), "data", List.of(i, i, i, i)))))
                        .post("/v2/models/identity_int32/infer").then().statusCode(200).header("Sluice-Cache", "miss");
            }
            assertThat(registry.get(MetricNames.RATE_LIMIT_FALLBACKS).counter().count()).as("takes on Redis").isZero();
            double tokens = RedisTenantBucket.tokens(own);
            assertThat(tokens).as("the bucket in Redis").isLessThanOrEqualTo(RedisTenantBucket.BURST - requests + 0.5);
            assertThat(l2Errors()).as("the cache found no connection").isPositive();
        } finally {
            send(own, Request.cmd(Command.LPUSH).arg(HELD).arg("done"));
            own.close();
            vertx.closeAndAwait();
        }
    }

    @Test
    @Order(3)
    void aBurstOfTakesWiderThanThePoolWaitsForConnectionsRatherThanFallingBack() {
        Await.serverReady();
        double before = registry.get(MetricNames.RATE_LIMIT_FALLBACKS).counter().count();
        // more takes at once than the pool's 6 connections and Quarkus's default wait queue of 24 together
        int takes = 80;
        List<CompletableFuture<RateLimitState>> admitted = new ArrayList<>();
        for (int i = 0; i < takes; i++) {
            admitted.add(limiter.admit(new Tenant("t"), "identity_int32").subscribeAsCompletionStage());
        }
        admitted.forEach(CompletableFuture::join);
        assertThat(registry.get(MetricNames.RATE_LIMIT_FALLBACKS).counter().count()).as("takes not on Redis")
                .isEqualTo(before);
    }

    private double l2Errors() {
        return registry.find(MetricNames.CACHE_REQUESTS).tags(MetricNames.TIER, "l2", MetricNames.RESULT, "error").counters().stream()
                .mapToDouble(Counter::count).sum();
    }
}
