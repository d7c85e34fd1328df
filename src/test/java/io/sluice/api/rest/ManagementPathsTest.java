package io.sluice.api.rest;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Where the management endpoints are, wherever quarkus.http puts them: auth leaves them to sluice.auth.management. */
class ManagementPathsTest {

    private static java.util.List<String> prefixes(String root, String nonApplication) {
        return RestAuthentication.managementPrefixes(root, nonApplication, "health", "metrics");
    }

    @Test
    void theNonApplicationRootIsFollowedWhereverItIsPut() {
        assertThat(prefixes("/", "q")).containsExactly("/v2/health", "/q", "/q/health", "/q/metrics");
        assertThat(prefixes("/", "/ops/")).containsExactly("/v2/health", "/ops", "/ops/health", "/ops/metrics");
        // relative to the root path, unless absolute
        assertThat(prefixes("/api", "q")).containsExactly("/api/v2/health", "/api/q", "/api/q/health", "/api/q/metrics");
        assertThat(prefixes("/api/", "/q")).containsExactly("/api/v2/health", "/q", "/q/health", "/q/metrics");
    }

    @Test
    void aNonApplicationRootHoldingTheApiIsNeverAPrefixOnlyTheHealthAndMetricsPathsAre() {
        // at the root, or at the root path as Quarkus's guide suggests: exempting it would exempt every inference
        assertThat(prefixes("/", "/")).containsExactly("/v2/health", "/health", "/metrics");
        assertThat(prefixes("/api", "/api")).containsExactly("/api/v2/health", "/api/health", "/api/metrics");
        assertThat(prefixes("/api", "/")).containsExactly("/api/v2/health", "/health", "/metrics");
        for (String prefix : prefixes("/api", "/api")) {
            assertThat(RestAuthentication.under("/api/v2/models/m/infer", prefix)).as(prefix).isFalse();
        }
        // the endpoints' own settings, relative or absolute
        assertThat(RestAuthentication.managementPrefixes("/", "/", "healthz", "/prometheus"))
                .containsExactly("/v2/health", "/healthz", "/prometheus");
    }

    @Test
    void aPrefixCoversItselfAndWhatIsUnderItOnly() {
        assertThat(RestAuthentication.under("/q/health/ready", "/q")).isTrue();
        assertThat(RestAuthentication.under("/health", "/health")).isTrue();
        assertThat(RestAuthentication.under("/healthy-model/infer", "/health")).isFalse();
        assertThat(RestAuthentication.under("/v2/healthz", "/v2/health")).isFalse();
    }
}
