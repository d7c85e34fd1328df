package io.sluice.admission;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.sluice.Await;
import io.sluice.RedisResource;
import io.sluice.TestRedis;
import io.sluice.observability.MetricNames;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Redis stops and starts again in the middle of a load. Nothing answers 5xx, the tenant stays limited
 * by its local fair-share bucket while Redis is away (counted as fallbacks), and takes go back to
 * Redis once it returns.
 */
@QuarkusTest
@TestProfile(RateLimitProfile.class)
class RedisOutageTest {

    @Inject
    MeterRegistry registry;

    private double fallbacks() {
        var counter = registry.find(MetricNames.RATE_LIMIT_FALLBACKS).counter();
        return counter == null ? 0 : counter.count();
    }

    @Test
    void aRedisRestartMidLoadGivesNo5xxAndKeepsTheLimit() throws Exception {
        Await.serverReady();
        TestRedis redis = RedisResource.redis();
        Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
        AtomicReference<String> phase = new AtomicReference<>("up");
        Map<String, AtomicInteger> admittedByPhase = new ConcurrentHashMap<>();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger answered = new AtomicInteger();
        ExecutorService load = Executors.newFixedThreadPool(3);
        try {
            List<Future<?>> workers = List.of(1, 2, 3).stream().map(i -> load.submit(() -> {
                for (int n = 0; n < 2_000 && !stop.get(); n++) { // bounded in count, and in time below
                    String during = phase.get();
                    int status = RateLimitTest.infer("identity_int32", "X-API-Key", RateLimitProfile.OUTAGE_KEY)
                            .statusCode();
                    statuses.computeIfAbsent(status, s -> new AtomicInteger()).incrementAndGet();
                    answered.incrementAndGet();
                    if (status == 200) {
                        admittedByPhase.computeIfAbsent(during, p -> new AtomicInteger()).incrementAndGet();
                    }
                }
            })).<Future<?>>map(f -> f).toList();

            // Redis up: the shared bucket's burst of 3 goes, then 429s
            await().atMost(Duration.ofSeconds(30)).until(() -> statuses.containsKey(429));
            double before = fallbacks();

            phase.set("down");
            redis.down();
            await().atMost(Duration.ofSeconds(30)).until(() -> fallbacks() > before + 20);
            // with Redis away a token comes from the fallback bucket, and a 503 gives it back there: 'corrupt'
            // failed to load, so three 503s in a row leave the one token for the request after them
            for (int i = 0; i < 3; i++) {
                RateLimitTest.infer("corrupt", "X-API-Key", RateLimitProfile.REFUNDED_IN_OUTAGE_KEY).then()
                        .statusCode(503);
            }
            RateLimitTest.infer("identity_int32", "X-API-Key", RateLimitProfile.REFUNDED_IN_OUTAGE_KEY).then()
                    .statusCode(200);
            RateLimitTest.infer("identity_int32", "X-API-Key", RateLimitProfile.REFUNDED_IN_OUTAGE_KEY).then()
                    .statusCode(429);

            redis.up();
            // back on Redis: 100 answers in a row without a new fallback (counted in answers, not in time)
            double[] seen = {fallbacks()};
            int[] from = {answered.get()};
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                double now = fallbacks();
                if (now != seen[0]) {
                    seen[0] = now;
                    from[0] = answered.get();
                    return false;
                }
                return answered.get() - from[0] >= 100;
            });
            phase.set("back");
            stop.set(true);
            for (Future<?> w : workers) {
                w.get(60, TimeUnit.SECONDS);
            }
        } finally {
            stop.set(true);
            load.shutdownNow();
            redis.up();
        }

        assertThat(statuses.keySet()).as("statuses seen: %s", statuses).containsOnly(200, 429);
        assertThat(statuses.get(429).get()).isGreaterThan(50);
        // The shared bucket gave its burst of 3 before the outage; during it the fallback bucket (one replica:
        // the whole rate) gives at most its own 3, so the outage at most doubles the limit; the restarted Redis
        // starts empty and gives at most 3 more. At 0.01 tokens/s nothing refills within the test.
        assertThat(admittedByPhase.get("up").get()).isGreaterThanOrEqualTo(3);
        assertThat(statuses.get(200).get()).isLessThanOrEqualTo(9);
    }
}
