package io.sluice.admission;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.sluice.Await;
import io.sluice.RedisResource;
import io.sluice.fixtures.TinyModels;
import io.sluice.observability.MetricNames;
import jakarta.inject.Inject;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A real Redis that answers late, paused with {@code CLIENT PAUSE}: one take past the wait falls back alone and the
 * next goes to Redis again; {@link SlowTakes#SLOW} of the last {@link SlowTakes#WINDOW} takes past the wait mean Redis
 * is away, whether in a row or between takes it answered in time, and the takes go to the local fair-share buckets
 * until the retry interval (an hour here) is over.
 */
@QuarkusTest
@TestProfile(RedisSlowTakeTest.Profile.class)
class RedisSlowTakeTest {

    private static final String KEY = "slow-redis-key";

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return overrides("sluice-slow-redis", KEY, "0.01", "100");
        }

        /**
         * One INT32 identity model, and tenant {@code t} of {@code key} limited to {@code rate} and {@code burst} in
         * the harness's Redis, whose takes wait 500 ms, and which is left for an hour once found away.
         */
        static Map<String, String> overrides(String repository, String key, String rate, String burst) {
            Path repo = TinyModels.newRepository(repository);
            TinyModels.write(repo, "identity_int32", 1, TinyModels.identity(io.sluice.fixtures.OnnxModelWriter.DataType.INT32));
            return Map.of(
                    "sluice.repository.paths", repo.toString(),
                    "sluice.auth.enabled", "true",
                    "sluice.rate-limit.enabled", "true",
                    "sluice.rate-limit.store", "redis",
                    "sluice.rate-limit.redis.timeout", "500ms", // well past any pause of a busy machine
                    "sluice.rate-limit.redis.retry-interval", "1h",
                    "sluice.tenants.t.api-key-sha256", Tenants.sha256(key),
                    "sluice.tenants.t.rate-limit.rate", rate,
                    "sluice.tenants.t.rate-limit.burst", burst);
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(RedisResource.class));
        }
    }

    @Inject
    MeterRegistry registry;

    private double fallbacks() {
        return registry.get(MetricNames.RATE_LIMIT_FALLBACKS).counter().count();
    }

    private static void infer() {
        RateLimitTest.infer("identity_int32", "X-API-Key", KEY).then().statusCode(200);
    }

    @Test
    void oneSlowTakeFallsBackAloneAndSlowTakesAmongTheLastFewMeanRedisIsAway() throws Exception {
        Await.serverReady();
        try (Socket redis = new Socket("127.0.0.1", RedisResource.redis().port())) {
            redis.setSoTimeout(60_000);
            OutputStream out = redis.getOutputStream();
            BufferedReader in = new BufferedReader(new InputStreamReader(redis.getInputStream(), StandardCharsets.US_ASCII));
            infer();
            assertThat(fallbacks()).as("on Redis").isZero();

            // a slow take, then one in time, and again: never two slow in a row, as from a Redis too busy to keep up
            for (int slow = 1; slow < SlowTakes.SLOW; slow++) {
                pause(out, in); // Redis answers no one for 3 s, six times the wait, for a busy machine
                infer(); // past the 500 ms wait: this take alone to the local bucket
                assertThat(fallbacks()).isEqualTo(slow);
                command(out, in, "PING"); // answered once the pause is over
                infer();
                assertThat(fallbacks()).as("back on Redis at once, not after the hour").isEqualTo(slow);
            }
            pause(out, in);
            infer(); // the last slow one of the window: Redis is away
            assertThat(fallbacks()).isEqualTo(SlowTakes.SLOW);
            command(out, in, "PING");
            infer(); // Redis answers again, but it was away: the local buckets take over until the retry interval
            infer();
            assertThat(fallbacks()).isEqualTo(SlowTakes.SLOW + 2);
        }
    }

    private static void pause(OutputStream out, BufferedReader in) throws Exception {
        command(out, in, "CLIENT", "PAUSE", "3000", "ALL");
    }

    /** Sends one command and reads its one-line answer. */
    static void command(OutputStream out, BufferedReader in, String... args) throws Exception {
        StringBuilder resp = new StringBuilder("*" + args.length + "\r\n");
        for (String a : args) {
            resp.append('$').append(a.length()).append("\r\n").append(a).append("\r\n");
        }
        out.write(resp.toString().getBytes(StandardCharsets.US_ASCII));
        out.flush();
        assertThat(in.readLine()).startsWith("+");
    }
}
