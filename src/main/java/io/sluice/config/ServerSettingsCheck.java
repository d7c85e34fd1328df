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
 * spent a Redis token and then fell back, logged as an outage), a cache size or lifetime below zero (the in-process
 * cache is built on the first cached request, which then failed with a 500). Per-model settings are checked where
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
        positive(problems, "sluice.rate-limit.redis.timeout", config.rateLimit().redis().timeout());
        positive(problems, "sluice.rate-limit.redis.retry-interval", config.rateLimit().redis().retryInterval());
        SluiceConfig.Cache cache = config.cache();
        atLeastZero(problems, "sluice.cache.l1.max-bytes", cache.l1().maxBytes());
        positive(problems, "sluice.cache.l1.ttl", cache.l1().ttl());
        positive(problems, "sluice.cache.l2.ttl", cache.l2().ttl());
        atLeastZero(problems, "sluice.cache.l2.max-entry-bytes", cache.l2().maxEntryBytes());
        positive(problems, "sluice.cache.l2.timeout", cache.l2().timeout());
        positive(problems, "sluice.cache.l2.retry-interval", cache.l2().retryInterval());
        atLeastZero(problems, "sluice.limits.max-bytes-elements", config.limits().maxBytesElements());
        return problems;
    }

    private static void positive(List<String> problems, String key, Duration value) {
        if (value.isNegative() || value.isZero()) {
            problems.add(key + " must be more than 0, was " + value);
        }
    }

    private static void atLeastZero(List<String> problems, String key, long value) {
        if (value < 0) {
            problems.add(key + " must be at least 0, was " + value);
        }
    }
}
