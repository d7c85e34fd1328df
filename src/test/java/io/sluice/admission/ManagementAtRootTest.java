package io.sluice.admission;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.sluice.fixtures.TinyModels;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * With auth on and the management endpoints moved to the root ({@code quarkus.http.non-application-root-path=/}),
 * probes and scrapes still need no key (before, only {@code /q/*} was exempt, so the kubelet would have got 401s and
 * restarted the pods), while the API still does.
 */
@QuarkusTest
@TestProfile(ManagementAtRootTest.Profile.class)
class ManagementAtRootTest {

    private static final String KEY = "api-key";

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Path repo = TinyModels.newRepository("sluice-management-root");
            TinyModels.write(repo, "matmul", 1, TinyModels.matmul());
            return Map.of(
                    "sluice.repository.paths", repo.toString(),
                    "quarkus.http.non-application-root-path", "/",
                    "sluice.auth.enabled", "true",
                    "sluice.tenants.api.api-key-sha256", Tenants.sha256(KEY));
        }
    }

    @Test
    void healthAndMetricsAtTheRootNeedNoKeyAndTheApiStillDoes() {
        await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(50))
                .until(() -> given().get("/health/ready").statusCode() == 200);
        for (String path : new String[] {"/health/live", "/health/started", "/metrics", "/v2/health/ready"}) {
            given().get(path).then().statusCode(200);
        }
        given().get("/v2/models/matmul").then().statusCode(401);
        given().header("X-API-Key", KEY).get("/v2/models/matmul").then().statusCode(200);
    }
}
