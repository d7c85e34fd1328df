package io.sluice.config;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static io.sluice.config.RedisTenantBucket.send;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.sluice.Await;
import io.sluice.TestRedis;
import io.sluice.fixtures.OnnxModelWriter;
import io.sluice.fixtures.TinyModels;
import io.sluice.observability.MetricNames;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Redis;
import io.vertx.mutiny.redis.client.Request;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A Redis that wants a password, set the usual way, on the unnamed client alone ({@code quarkus.redis.password}):
 * both of Sluice's clients ({@link RedisClients}) are handed it, so takes go to Redis (not to the fallback) and the
 * cache writes its entry there. Quarkus hands a named client none of the unnamed client's keys by itself; without
 * the hand-over in application.properties Redis answers NOAUTH and every take falls back.
 */
@QuarkusTest
@TestProfile(RedisPasswordTest.Profile.class)
class RedisPasswordTest {

    private static final String PASSWORD = "s3cret-for-both";
    private static final String KEY = "password-key";

    private static volatile TestRedis redis;

    /** A redis-server with {@code requirepass}; only the unnamed client's hosts and password point at it. */
    public static class PasswordRedis implements QuarkusTestResourceLifecycleManager {
        @Override
        public Map<String, String> start() {
            redis = TestRedis.startWith("requirepass " + PASSWORD);
            return Map.of("quarkus.redis.hosts", redis.uri(), "quarkus.redis.password", PASSWORD);
        }

        @Override
        public void stop() {
            if (redis != null) {
                redis.close();
            }
        }
    }

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Path repo = TinyModels.newRepository("sluice-redis-password");
            TinyModels.write(repo, "identity_int32", 1, TinyModels.identity(OnnxModelWriter.DataType.INT32));
            return RedisTenantBucket.settings(KEY, Map.ofEntries(
                    Map.entry("sluice.repository.paths", repo.toString()),
                    Map.entry("sluice.model-defaults.cache.enabled", "true"),
                    Map.entry("sluice.model-defaults.cache.min-uses", "1"),
                    Map.entry("sluice.cache.l2.enabled", "true"),
                    Map.entry("sluice.cache.l2.timeout", "500ms"),
                    Map.entry("sluice.cache.l2.retry-interval", "1ms")));
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(PasswordRedis.class));
        }
    }

    @Inject
    MeterRegistry registry;

    @Test
    void bothClientsAuthenticateWithTheUnnamedClientsPassword() {
        Await.serverReady();
        Vertx vertx = Vertx.vertx();
        Redis own = Redis.createClient(vertx, "redis://:" + PASSWORD + "@127.0.0.1:" + redis.port());
        try {
            int requests = 2;
            for (int i = 0; i < requests; i++) {
                given().contentType(ContentType.JSON).header("X-API-Key", KEY)
                        .body(Map.of("inputs", List.of(Map.of("name", "INPUT0", "datatype", "INT32",
                                "shape", List.of(1, 4), "data", List.of(i, i, i, i)))))
                        .post("/v2/models/identity_int32/infer").then().statusCode(200);
            }
            assertThat(registry.get(MetricNames.RATE_LIMIT_FALLBACKS).counter().count()).as("takes on Redis").isZero();
            double tokens = RedisTenantBucket.tokens(own);
            assertThat(tokens).as("the bucket in Redis").isLessThanOrEqualTo(RedisTenantBucket.BURST - requests + 0.5);
            // every response is stored (min-uses 1), written to L2 after its answer
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(
                    send(own, Request.cmd(Command.KEYS).arg("sluice:cache:*"))).contains("sluice:cache:"));
            assertThat(send(own, Request.cmd(Command.CLIENT).arg("LIST")))
                    .contains("name=sluice-buckets", "name=sluice-cache");
        } finally {
            own.close();
            vertx.closeAndAwait();
        }
    }
}
