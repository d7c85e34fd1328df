package io.sluice.config;

import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Stops the start, naming each key, on server-wide settings that would only fail once requests arrive: a Redis
 * wait of zero or less (Mutiny refuses such a timeout, so every cache lookup was a 500 and every rate-limit take
 * spent a Redis token and then fell back, logged as an outage), a Redis TTL of zero or less, a cache size, lifetime
 * or retry interval below zero (the in-process cache is built on the first cached request, which then failed with a
 * 500). Zero stays allowed where it means something (no back-off, an L1 entry that expires at once), and the keys of
 * a feature that is off are not read. Per-model settings are checked where
 * {@link ModelSettings} resolves them.
 */
@ApplicationScoped
public class ServerSettingsCheck {

    @Inject
    SluiceConfig config;

    void check(@Observes StartupEvent start) {
        List<String> problems = problems(config);
        if (!problems.isEmpty()) {
            throw new IllegalStateException("invalid configuration: " + String.join("; ", problems));
        }
    }

    /** What is wrong with {@code config}'s server-wide settings, one entry a key; empty when nothing is. */
    static List<String> problems(SluiceConfig config) {
        List<String> problems = new ArrayList<>();
        // what a disabled feature never reads is left alone, as a leftover tenant key is
        if (config.rateLimit().enabled() && config.rateLimit().store() == BucketStore.REDIS) {
            positive(problems, "sluice.rate-limit.redis.timeout", config.rateLimit().redis().timeout());
            atLeastZero(problems, "sluice.rate-limit.redis.retry-interval", config.rateLimit().redis().retryInterval());
        }
        SluiceConfig.Cache cache = config.cache();
        atLeastZero(problems, "sluice.cache.l1.max-bytes", cache.l1().maxBytes());
        atLeastZero(problems, "sluice.cache.l1.ttl", cache.l1().ttl());
        if (cache.l2().enabled()) {
            positive(problems, "sluice.cache.l2.ttl", cache.l2().ttl()); // Redis refuses an expiry of 0
            atLeastZero(problems, "sluice.cache.l2.max-entry-bytes", cache.l2().maxEntryBytes());
            positive(problems, "sluice.cache.l2.timeout", cache.l2().timeout());
            atLeastZero(problems, "sluice.cache.l2.retry-interval", cache.l2().retryInterval());
        }
        atLeastZero(problems, "sluice.limits.max-bytes-elements", config.limits().maxBytesElements());
        config.server().maxConnectionAge().ifPresent(age -> positive(problems, "sluice.server.max-connection-age", age));
        return problems;
    }

    /** At least a millisecond: what reads these takes whole milliseconds (Redis's PX), where 0 is refused. */
    private static void positive(List<String> problems, String key, Duration value) {
        if (value.compareTo(Duration.ofMillis(1)) < 0) {
            problems.add(key + " must be at least 1 ms, was " + value);
        }
    }

    private static void atLeastZero(List<String> problems, String key, Duration value) {
        if (value.isNegative()) {
            problems.add(key + " must be at least 0, was " + value);
        }
    }

    private static void atLeastZero(List<String> problems, String key, long value) {
        if (value < 0) {
            problems.add(key + " must be at least 0, was " + value);
        }
    }
}
