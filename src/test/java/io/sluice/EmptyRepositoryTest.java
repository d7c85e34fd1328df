package io.sluice;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.sluice.fixtures.TinyModels;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A server that found no model at all (an empty volume mounted over the repository, a wrong path) starts
 * but never turns ready: it could only answer 404, and a Kubernetes readiness probe must keep it out of
 * the Service. Its profile also turns tracing off, as in production ({@code observability.TracingOffTest}
 * shares it, so the suite starts one server fewer).
 */
@QuarkusTest
@TestProfile(EmptyRepositoryTest.Profile.class)
public class EmptyRepositoryTest {

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("sluice.repository.paths", TinyModels.newRepository("sluice-empty").toString(),
                    "quarkus.otel.sdk.disabled", "true");
        }
    }

    @Test
    void startsButIsNeverReady() {
        given().get("/q/health/started").then().statusCode(200);
        given().get("/q/health/live").then().statusCode(200);
        given().get("/q/health/ready").then().statusCode(503).body(containsString("DOWN"));
        given().get("/v2/health/ready").then().statusCode(400);
        given().get("/v2/health/live").then().statusCode(200);
        // no per-model series exists to alert on (SluiceModelNotReady): this one says there is nothing to serve
        given().get("/q/metrics").then().statusCode(200).body(containsString("\nsluice_model_versions 0.0\n"));
    }
}
