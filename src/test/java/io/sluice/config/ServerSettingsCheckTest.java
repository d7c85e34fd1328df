package io.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.fixtures.SluiceConfigs;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Server-wide settings that would fail only once requests arrive stop the start instead, each key named. */
class ServerSettingsCheckTest {

    private static SluiceConfig config(Map<String, String> properties) {
        return SluiceConfigs.of(properties);
    }

    @Test
    void theDefaultsPass() {
        assertThat(ServerSettingsCheck.problems(config(Map.of()))).isEmpty();
    }

    @Test
    void everyWaitOfZeroOrLessAndEverySizeBelowZeroIsNamed() {
        var problems = ServerSettingsCheck.problems(config(Map.of(
                "sluice.rate-limit.enabled", "true",
                "sluice.rate-limit.store", "redis",
                "sluice.rate-limit.redis.timeout", "0s",
                "sluice.cache.l2.enabled", "true",
                "sluice.cache.l2.ttl", "0.0005s", // Redis's PX takes whole milliseconds: 0 would be refused
                "sluice.cache.l2.timeout", "-1s",
                "sluice.cache.l2.retry-interval", "-1s",
                "sluice.cache.l1.max-bytes", "-1",
                "sluice.cache.l1.ttl", "-1s",
                "sluice.limits.max-bytes-elements", "-2")));

        assertThat(problems).containsExactlyInAnyOrder(
                "sluice.rate-limit.redis.timeout must be at least 1 ms, was PT0S",
                "sluice.cache.l2.ttl must be at least 1 ms, was PT0.0005S",
                "sluice.cache.l2.timeout must be at least 1 ms, was PT-1S",
                "sluice.cache.l2.retry-interval must be at least 0, was PT-1S",
                "sluice.cache.l1.max-bytes must be at least 0, was -1",
                "sluice.cache.l1.ttl must be at least 0, was PT-1S",
                "sluice.limits.max-bytes-elements must be at least 0, was -2");
    }

    @Test
    void aConnectionAgeMustBeMoreThanZeroWhenSet() {
        assertThat(ServerSettingsCheck.problems(config(Map.of("sluice.server.max-connection-age", "0s"))))
                .containsExactly("sluice.server.max-connection-age must be at least 1 ms, was PT0S");
        assertThat(ServerSettingsCheck.problems(config(Map.of("sluice.server.max-connection-age", "5m")))).isEmpty();
    }

    @Test
    void zeroWhereItMeansSomethingAndTheKeysOfAFeatureThatIsOffPass() {
        // no back-off, an L1 entry that expires at once, a cache of nothing
        assertThat(ServerSettingsCheck.problems(config(Map.of(
                "sluice.rate-limit.enabled", "true",
                "sluice.rate-limit.store", "redis",
                "sluice.rate-limit.redis.retry-interval", "0s",
                "sluice.cache.l1.ttl", "0s",
                "sluice.cache.l1.max-bytes", "0",
                "sluice.cache.l2.enabled", "true",
                "sluice.cache.l2.retry-interval", "0s",
                "sluice.cache.l2.max-entry-bytes", "0")))).isEmpty();
        // Redis keys while the buckets are local or off, L2 keys while L2 is off: never read
        assertThat(ServerSettingsCheck.problems(config(Map.of(
                "sluice.rate-limit.enabled", "true",
                "sluice.rate-limit.redis.timeout", "0s",
                "sluice.cache.l2.timeout", "0s")))).isEmpty();
    }
}
