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
 * A take Redis answers late is judged by this replica's fallback share, which must be no fuller than the tenant's
 * bucket in Redis: a share that stayed full while Redis granted the tenant's whole burst gave a slow take one more
 * token, so a Redis slow for one take in four let a tenant through at its rate and a half. Nor must it be emptier: a
 * tenant well under its limit whose traffic leans on this replica (a pinned gRPC channel) keeps its slow takes.
 */
@QuarkusTest
@TestProfile(RedisSlowTakeShareTest.Profile.class)
class RedisSlowTakeShareTest {

    private static final String KEY = "slow-share-key";
    private static final String LEANING = "leaning-key";

    public static class Profile extends RedisSlowTakeTest.Profile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Map<String, String> overrides = new java.util.HashMap<>(overrides("sluice-slow-share", KEY, "0.001", "3"));
            overrides.put("sluice.rate-limit.redis.replicas", "3"); // shares of a third: 1 token of t's 3, 10 of u's 30
            overrides.put("sluice.tenants.u.api-key-sha256", Tenants.sha256(LEANING));
            overrides.put("sluice.tenants.u.rate-limit.rate", "0.001");
            overrides.put("sluice.tenants.u.rate-limit.burst", "30");
            return overrides; // 0.001 tokens/s: no refill within the test
        }
    }

    @Inject
    MeterRegistry registry;

    private double fallbacks() {
        return registry.get(MetricNames.RATE_LIMIT_FALLBACKS).counter().count();
    }

    @Test
    void aSlowTakeIsJudgedByAShareAsFullAsTheTenantsBucketInRedis() throws Exception {
        Await.serverReady();
        for (int i = 0; i < 3; i++) {
            RateLimitTest.infer("identity_int32", "X-API-Key", KEY).then().statusCode(200);
        }
        for (int i = 0; i < 11; i++) { // more than u's share of 10, a third of its 30
            RateLimitTest.infer("identity_int32", "X-API-Key", LEANING).then().statusCode(200);
        }
        assertThat(fallbacks()).as("all from Redis").isZero();
        try (Socket redis = new Socket("127.0.0.1", RedisResource.redis().port())) {
            redis.setSoTimeout(60_000);
            OutputStream out = redis.getOutputStream();
            BufferedReader in = new BufferedReader(new InputStreamReader(redis.getInputStream(), StandardCharsets.US_ASCII));
            RedisSlowTakeTest.command(out, in, "CLIENT", "PAUSE", "3000", "ALL"); // Redis answers no one for 3 s, six times the wait
            // past the wait, judged by the fallback share: t spent its whole bucket in Redis, so its share is empty
            RateLimitTest.infer("identity_int32", "X-API-Key", KEY).then().statusCode(429);
            assertThat(fallbacks()).isEqualTo(1);
            RedisSlowTakeTest.command(out, in, "PING"); // answered once the pause is over
            RedisSlowTakeTest.command(out, in, "CLIENT", "PAUSE", "3000", "ALL");
            // u has 19 of 30 left in Redis: its share holds 19/30 of its 10, though this replica took 11
            RateLimitTest.infer("identity_int32", "X-API-Key", LEANING).then().statusCode(200);
            assertThat(fallbacks()).isEqualTo(2);
            RedisSlowTakeTest.command(out, in, "PING");
        }
        // Redis again: the late take's grant (none: the bucket was empty) changed nothing there
        RateLimitTest.infer("identity_int32", "X-API-Key", KEY).then().statusCode(429);
        assertThat(fallbacks()).isEqualTo(2);
    }
}
