package io.sluice.model;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.sluice.fixtures.TinyModels;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A required model whose only version FAILED to load: the start is over (the startup probe passes), the pod is not
 * ready, and liveness is down and says which model, so that the kubelet restarts the pod and the load is tried
 * again; nothing in the process retries it. The other model serves meanwhile.
 */
@QuarkusTest
@TestProfile(FailedRequiredModelTest.Profile.class)
class FailedRequiredModelTest {

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Path repo = TinyModels.newRepository("sluice-failed-required");
            TinyModels.write(repo, "add", 1, TinyModels.add());
            TinyModels.write(repo, "broken", 1, TinyModels.corrupt()); // required, as every model by default
            return Map.of("sluice.repository.paths", repo.toString());
        }
    }

    @Inject
    ModelRegistry registry;

    @Test
    void livenessIsDownAndNamesTheModelWhileTheOtherModelServes() {
        await().atMost(Duration.ofSeconds(60)).until(registry::settled);
        given().get("/q/health/started").then().statusCode(200);
        given().get("/q/health/ready").then().statusCode(503);
        given().get("/q/health/live").then().statusCode(503)
                .body("checks.find { it.name == 'required-models' }.status", equalTo("DOWN"))
                .body("checks.find { it.name == 'required-models' }.data.'broken/1'", containsString("FAILED: "));
        // the OIP's live is the process's: it still answers, and the model that loaded still serves
        given().get("/v2/health/live").then().statusCode(200);
        given().contentType("application/json")
                .body("{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]},"
                        + "{\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[5,6,7,8]}]}")
                .post("/v2/models/add/infer").then().statusCode(200)
                .body("outputs.find { it.name == 'SUM' }.data", org.hamcrest.Matchers.contains(6f, 8f, 10f, 12f));
    }

    @Test
    void aFailedVersionHasNoMetadataOrConfigurationToTell() {
        // an answer without inputs would say the model takes none; Triton refuses a model that is not available
        await().atMost(Duration.ofSeconds(60)).until(registry::settled);
        for (String path : new String[] {"/v2/models/broken", "/v2/models/broken/config",
                "/v2/models/broken/versions/1", "/v2/models/broken/versions/1/config"}) {
            given().get(path).then().statusCode(503).header("Retry-After", equalTo("5"))
                    .body("error", containsString("model 'broken' version 1 is FAILED: "));
        }
        given().get("/v2/models/add").then().statusCode(200);
        io.grpc.ManagedChannel channel = io.sluice.GrpcClients.channel();
        try {
            var api = io.sluice.api.grpc.proto.GRPCInferenceServiceGrpc.newBlockingStub(channel);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> api.modelMetadata(
                            io.sluice.api.grpc.proto.ModelMetadataRequest.newBuilder().setName("broken").build()))
                    .isInstanceOfSatisfying(io.grpc.StatusRuntimeException.class, e -> org.assertj.core.api.Assertions
                            .assertThat(e.getStatus().getCode()).isEqualTo(io.grpc.Status.Code.UNAVAILABLE));
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> api.modelConfig(
                            io.sluice.api.grpc.proto.ModelConfigRequest.newBuilder().setName("broken").build()))
                    .isInstanceOfSatisfying(io.grpc.StatusRuntimeException.class, e -> org.assertj.core.api.Assertions
                            .assertThat(e.getStatus().getCode()).isEqualTo(io.grpc.Status.Code.UNAVAILABLE));
        } finally {
            channel.shutdownNow();
        }
    }
}
