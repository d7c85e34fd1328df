package io.sluice.admission;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.sluice.Await;
import io.sluice.RedisResource;
import io.sluice.observability.MetricNames;
import jakarta.inject.Inject;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A take Redis answers late is judged by this replica's fallback share, which must hold what the tenant has spent in
 * Redis: a share that stayed full while Redis granted the tenant's whole burst gave a slow take one more token, so a
 * Redis slow for one take in four let a tenant through at its rate and a half.
 */
@QuarkusTest
@TestProfile(RedisSlowTakeShareTest.Profile.class)
class RedisSlowTakeShareTest {

    private static final String KEY = "slow-share-key";

    public static class Profile extends RedisSlowTakeTest.Profile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Map<String, String> overrides = new java.util.HashMap<>(overrides("sluice-slow-share", KEY, "0.001", "3"));
            overrides.put("sluice.rate-limit.redis.replicas", "1"); // the share is the whole limit
            return overrides; // 0.001 tokens/s: no refill within the test
        }
    }

    @Inject
    MeterRegistry registry;

    private double fallbacks() {
        return registry.get(MetricNames.RATE_LIMIT_FALLBACKS).counter().count();
    }

    @Test
    void aSlowTakeAfterRedisGrantedTheWholeBurstIsRefusedByTheShare() throws Exception {
        Await.serverReady();
        for (int i = 0; i < 3; i++) {
            RateLimitTest.infer("identity_int32", "X-API-Key", KEY).then().statusCode(200);
        }
        assertThat(fallbacks()).as("all three from Redis").isZero();
        try (Socket redis = new Socket("127.0.0.1", RedisResource.redis().port())) {
            redis.setSoTimeout(60_000);
            OutputStream out = redis.getOutputStream();
            BufferedReader in = new BufferedReader(new InputStreamReader(redis.getInputStream(), StandardCharsets.US_ASCII));
            RedisSlowTakeTest.command(out, in, "CLIENT", "PAUSE", "3000", "ALL"); // Redis answers no one for 3 s, six times the wait
            // past the wait, judged by the fallback share, which the three grants spent
            RateLimitTest.infer("identity_int32", "X-API-Key", KEY).then().statusCode(429);
            assertThat(fallbacks()).isEqualTo(1);
            RedisSlowTakeTest.command(out, in, "PING"); // answered once the pause is over
        }
        // Redis again: the late take's grant (none: the bucket was empty) changed nothing there
        RateLimitTest.infer("identity_int32", "X-API-Key", KEY).then().statusCode(429);
        assertThat(fallbacks()).isEqualTo(1);
    }
}
