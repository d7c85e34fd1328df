package io.sluice.admission;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quarkus.runtime.configuration.DurationConverter;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.sluice.config.SluiceConfig;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Buckets and keys configured wrong are found when the server starts, named by their keys, not at a request. */
class RateLimitConfigTest {

    private static SluiceConfig config(Map<String, String> properties) {
        Map<String, String> all = new HashMap<>(properties);
        all.putIfAbsent("sluice.rate-limit.enabled", "true");
        all.putIfAbsent("sluice.auth.enabled", "true");
        return new SmallRyeConfigBuilder()
                .withMapping(SluiceConfig.class)
                .withConverter(Duration.class, 200, new DurationConverter()) // "10m", as Quarkus reads it
                .withSources(new PropertiesConfigSource(all, "test", 500))
                .build()
                .getConfigMapping(SluiceConfig.class);
    }

    @Test
    void aBucketWithoutRateOrBurstIsRefusedByItsKey() {
        assertThatThrownBy(() -> RateLimiter.checkBuckets(config(Map.of("sluice.tenants.acme.rate-limit.rate", "0"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("sluice.tenants.\"acme\".rate-limit: rate must be > 0, was 0.0");
        assertThatThrownBy(() -> RateLimiter.checkBuckets(config(Map.of(
                "sluice.tenants.acme.models.m.rate", "5", "sluice.tenants.acme.models.m.burst", "0"))))
                .hasMessage("sluice.tenants.\"acme\".models.\"m\": burst must be >= 1, was 0");
        assertThatThrownBy(() -> RateLimiter.checkBuckets(config(Map.of("sluice.rate-limit.default.rate", "-1"))))
                .hasMessageStartingWith("sluice.rate-limit.default: rate must be > 0");
    }

    @Test
    void aTenantNameCannotPassForAPerModelBucket() {
        assertThatThrownBy(() -> RateLimiter.checkBuckets(config(Map.of("sluice.tenants.\"a/b\".rate-limit.rate", "1"))))
                .hasMessage("sluice.tenants.\"a/b\": a tenant's name must not contain '/'");
        assertThatThrownBy(() -> RateLimiter.checkBuckets(config(Map.of("sluice.tenants.\"\".rate-limit.rate", "1"))))
                .hasMessage("sluice.tenants.\"\": a tenant's name must not be empty");
        assertThatThrownBy(() -> new Tenants(config(Map.of("sluice.auth.enabled", "true",
                "sluice.tenants.\"\".api-key-sha256", "a".repeat(64)))))
                .hasMessage("sluice.tenants.\"\": a tenant's name must not be empty");
    }

    @Test
    void aTenantNameMustFitAStructuredFieldStringAndReplicasArePositive() {
        assertThatThrownBy(() -> RateLimiter.checkBuckets(config(Map.of("sluice.tenants.\"a\\\\b\".rate-limit.rate", "1"))))
                .hasMessage("sluice.tenants.\"a\\b\": a tenant's name must be printable ASCII without '\"' or '\\'");
        assertThatThrownBy(() -> RateLimiter.checkBuckets(config(Map.of("sluice.tenants.\"caf\u00e9\".rate-limit.rate", "1"))))
                .hasMessageEndingWith("a tenant's name must be printable ASCII without '\"' or '\\'");
        assertThatThrownBy(() -> RateLimiter.checkBuckets(config(Map.of("sluice.rate-limit.store", "redis",
                "sluice.rate-limit.redis.replicas", "0"))))
                .hasMessage("sluice.rate-limit.redis.replicas must be >= 1, was 0");
    }

    @Test
    void aRedisKeyStopsNothingWithBucketsInProcess() {
        // README: the Redis keys are read only with Redis buckets on (the start refused this before)
        assertThatCode(() -> RateLimiter.checkBuckets(config(Map.of("sluice.rate-limit.store", "local",
                "sluice.rate-limit.redis.replicas", "0")))).doesNotThrowAnyException();
    }

    @Test
    void withRateLimitingAndAuthOffLeftoversStopNothing() {
        assertThatCode(() -> RateLimiter.checkBuckets(config(Map.of("sluice.rate-limit.enabled", "false",
                "sluice.tenants.\"a/b\".rate-limit.rate", "0")))).doesNotThrowAnyException();
        assertThatCode(() -> new Tenants(config(Map.of("sluice.auth.enabled", "false",
                "sluice.tenants.acme.api-key-sha256", "not-a-hash")))).doesNotThrowAnyException();
        assertThatThrownBy(() -> new Tenants(config(Map.of("sluice.tenants.acme.api-key-sha256", "not-a-hash"))))
                .hasMessage("sluice.tenants.\"acme\".api-key-sha256 must be 64 hex digits");
    }

    @Test
    void wellFormedBucketsPass() {
        assertThatCode(() -> RateLimiter.checkBuckets(config(Map.of("sluice.tenants.acme.rate-limit.rate", "50",
                "sluice.tenants.acme.rate-limit.burst", "100", "sluice.tenants.acme.models.m.rate", "0.5",
                "sluice.rate-limit.default.rate", "2")))).doesNotThrowAnyException();
    }

    @Test
    void authSettingsTheServerWillNotHonourAreSaid() {
        String hash = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        // keys while auth is off: unchecked, every request anonymous; management alone does nothing
        assertThat(Tenants.warnings(config(Map.of("sluice.auth.enabled", "false",
                "sluice.auth.management", "true", "sluice.tenants.acme.api-key-sha256", hash)))).containsExactly(
                "sluice.auth.enabled is false: the API keys of tenants [acme] are not checked, and every request runs as"
                        + " the anonymous tenant",
                "sluice.auth.management=true does nothing while sluice.auth.enabled is false");
        // auth on: no key at all, or a tenant with settings and no key (the anonymous tenant's are read with auth off)
        assertThat(Tenants.warnings(config(Map.of(
                "sluice.tenants.acme.rate-limit.rate", "5")))).containsExactly(
                "sluice.auth.enabled is true but no tenant has an api-key-sha256: every request will get 401");
        assertThat(Tenants.warnings(config(Map.of(
                "sluice.tenants.acme.api-key-sha256", hash, "sluice.tenants.acmee.rate-limit.rate", "5",
                "sluice.tenants.anonymous.priority.default", "1")))).containsExactly(
                "tenants [acmee] have settings but no api-key-sha256: no request can be theirs");
        assertThat(Tenants.warnings(config(Map.of(
                "sluice.tenants.acme.api-key-sha256", hash)))).isEmpty();
    }

    @Test
    void protectingManagementEndpointsServedOnTheManagementInterfaceStopsTheStart() {
        assertThatThrownBy(() -> Tenants.checkManagementInterface(true, true))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("sluice.auth.management=true cannot protect Quarkus's management interface");
        assertThatCode(() -> Tenants.checkManagementInterface(false, true)).doesNotThrowAnyException();
        assertThatCode(() -> Tenants.checkManagementInterface(true, false)).doesNotThrowAnyException();
    }
}
