package io.sluice.model;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.sluice.fixtures.TinyModels;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** With {@code sluice.repository.restart-on-failed-load=false} a FAILED required model leaves the pod live, not ready. */
@QuarkusTest
@TestProfile(FailedRequiredModelKeptTest.Profile.class)
class FailedRequiredModelKeptTest {

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Path repo = TinyModels.newRepository("sluice-failed-kept");
            TinyModels.write(repo, "broken", 1, TinyModels.corrupt());
            return Map.of("sluice.repository.paths", repo.toString(),
                    "sluice.repository.restart-on-failed-load", "false");
        }
    }

    @Inject
    ModelRegistry registry;

    @Test
    void theProcessStaysLiveAndNotReady() {
        await().atMost(Duration.ofSeconds(60)).until(registry::settled);
        org.assertj.core.api.Assertions.assertThat(registry.requiredFailed()).containsExactly("broken");
        given().get("/q/health/ready").then().statusCode(503);
        given().get("/q/health/live").then().statusCode(200);
    }
}
