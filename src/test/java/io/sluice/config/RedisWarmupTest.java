package io.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.sluice.Await;
import io.sluice.RedisResource;
import io.sluice.fixtures.TinyModels;
import io.sluice.observability.MetricNames;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * With buckets in Redis, the server connects to Redis when it starts, not on the first request: that
 * request's take would otherwise wait for the connection past the 25 ms bound and fall back. Without a
 * fixed {@code redis.replicas} it counts the replicas sharing the buckets there.
 */
@QuarkusTest
@TestProfile(RedisWarmupTest.Profile.class)
class RedisWarmupTest {

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Path repo = TinyModels.newRepository("sluice-redis-warmup");
            TinyModels.write(repo, "matmul", 1, TinyModels.matmul());
            return Map.of(
                    "sluice.repository.paths", repo.toString(),
                    "sluice.rate-limit.enabled", "true",
                    "sluice.rate-limit.store", "redis",
                    "sluice.rate-limit.default.rate", "100",
                    "sluice.rate-limit.default.burst", "100");
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(RedisResource.class));
        }
    }

    @Inject
    MeterRegistry registry;

    @Inject
    io.sluice.admission.RateLimiter limiter;

    @Test
    void theConnectionIsOpenBeforeAnyRequest() {
        Await.serverReady(); // health only: nothing has asked Redis for a token
        // CLIENT LIST names every connection: this test's own, and the server's
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
                .until(() -> clients() >= 2);
        assertThat(registry.find(MetricNames.RATE_LIMIT_FALLBACKS).counter().count()).isZero();
    }

    @Test
    void withoutAFixedReplicaCountTheReplicasAreCountedInRedis() {
        Await.serverReady();
        await().atMost(Duration.ofSeconds(30)).until(() -> limiter.replicas() == 1); // itself
        // a second replica on the same Redis stamps itself: the server counts it at its next refresh
        io.vertx.mutiny.core.Vertx vertx = io.vertx.mutiny.core.Vertx.vertx();
        io.vertx.mutiny.redis.client.Redis client = io.vertx.mutiny.redis.client.Redis.createClient(vertx,
                RedisResource.redis().uri());
        try {
            assertThat(new io.sluice.admission.ReplicaCount(client, "sluice:rl:").refresh()
                    .await().atMost(Duration.ofSeconds(5))).isEqualTo(2);
            await().atMost(Duration.ofSeconds(30)).until(() -> limiter.replicas() == 2);
        } finally {
            client.close();
            vertx.closeAndAwait();
        }
    }

    /** The connections Redis has open, by CLIENT LIST over a connection of its own. */
    private static int clients() throws IOException {
        try (Socket socket = new Socket("127.0.0.1", RedisResource.redis().port())) {
            socket.setSoTimeout(5_000);
            socket.getOutputStream().write("*2\r\n$6\r\nCLIENT\r\n$4\r\nLIST\r\n".getBytes(StandardCharsets.US_ASCII));
            InputStream in = socket.getInputStream();
            StringBuilder header = new StringBuilder();
            for (int c = in.read(); c != '\n'; c = in.read()) {
                header.append((char) c);
            }
            int length = Integer.parseInt(header.toString().trim().substring(1)); // $<length>
            String list = new String(in.readNBytes(length), StandardCharsets.UTF_8);
            return (int) list.lines().filter(line -> line.startsWith("id=")).count();
        }
    }
}
