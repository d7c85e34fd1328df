package io.sluice.api.rest;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Where the management endpoints are, wherever quarkus.http puts them: auth leaves them to sluice.auth.management. */
class ManagementPathsTest {

    @Test
    void theNonApplicationRootIsFollowedWhereverItIsPut() {
        assertThat(RestAuthentication.managementPrefixes("/", "q")).containsExactly("/v2/health", "/q");
        assertThat(RestAuthentication.managementPrefixes("/", "/ops/")).containsExactly("/v2/health", "/ops");
        // relative to the root path, unless absolute
        assertThat(RestAuthentication.managementPrefixes("/api", "q")).containsExactly("/api/v2/health", "/api/q");
        assertThat(RestAuthentication.managementPrefixes("/api/", "/q")).containsExactly("/api/v2/health", "/q");
        // beside the API: the health and metrics paths themselves
        assertThat(RestAuthentication.managementPrefixes("/", "/")).containsExactly("/v2/health", "/health", "/metrics");
    }

    @Test
    void aPrefixCoversItselfAndWhatIsUnderItOnly() {
        assertThat(RestAuthentication.under("/q/health/ready", "/q")).isTrue();
        assertThat(RestAuthentication.under("/health", "/health")).isTrue();
        assertThat(RestAuthentication.under("/healthy-model/infer", "/health")).isFalse();
        assertThat(RestAuthentication.under("/v2/healthz", "/v2/health")).isFalse();
    }
}
