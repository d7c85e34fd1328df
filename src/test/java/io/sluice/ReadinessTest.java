package io.sluice;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;

import grpc.health.v1.HealthOuterClass.HealthCheckResponse.ServingStatus;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.sluice.fixtures.TinyModels;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/** Readiness turns on only once every required model has finished its warmup. */
@QuarkusTest
@TestProfile(ReadinessTest.Profile.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ReadinessTest {

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Path repo = TinyModels.newRepository("sluice-held");
            TinyModels.write(repo, "add", 1, TinyModels.add());
            TinyModels.write(repo, HeldWarmup.MODEL, 1, TinyModels.matmul());
            // warmup from sample files: one row of X (3 floats) in <version>/warmup/X
            TinyModels.writeWarmup(TinyModels.write(repo, "warm-files", 1, TinyModels.matmul()), "X", new byte[12]);
            TinyModels.writeWarmup(TinyModels.write(repo, "warm-files-bad", 1, TinyModels.matmul()), "X", new byte[5]);
            TinyModels.write(repo, "non-zero", 1, TinyModels.nonZeroIndices());
            TinyModels.write(repo, "running-sum", 1, TinyModels.runningSum()); // rows that are a sequence
            TinyModels.write(repo, "slow-warm", 1, TinyModels.slow(10_000)); // ~70 ms a run of 8 rows
            return Map.ofEntries(
                    Map.entry("sluice.models.slow-warm.admission.timeout", "20ms"), // a request's limit, not warmup's
                    Map.entry("sluice.models.non-zero.required", "false"),
                    Map.entry("sluice.models.non-zero.warmup.data", "zero"), // no non-zero element: Y is [0, 2] at any batch
                    Map.entry("sluice.repository.paths", repo.toString()),
                    Map.entry("sluice.models.warm-files.warmup.data", "files"),
                    Map.entry("sluice.models.warm-files.warmup.batch-sizes", "1,4"),
                    Map.entry("sluice.models.warm-files-bad.warmup.data", "files"),
                    Map.entry("sluice.models.warm-files-bad.required", "false"));
        }
    }

    @Test
    @Order(1)
    void notReadyUntilTheSlowWarmupIsDone() throws InterruptedException {
        org.awaitility.Awaitility.await().until(() ->
                given().get("/q/health/started").jsonPath().getString("checks.find { it.name == 'model-loading' }.data.'held-warmup/1'"),
                "WARMING"::equals);
        given().get("/v2/health/ready").then().statusCode(400);
        given().get("/q/health/ready").then().statusCode(503);
        given().get("/q/health/started").then().statusCode(503);
        // what a Kubernetes grpc: probe reads, for the server and for the inference service
        org.assertj.core.api.Assertions.assertThat(grpcHealth("")).isEqualTo(ServingStatus.NOT_SERVING);
        org.assertj.core.api.Assertions.assertThat(grpcHealth("inference.GRPCInferenceService"))
                .isEqualTo(ServingStatus.NOT_SERVING);
        given().get("/v2/models/" + HeldWarmup.MODEL + "/ready").then().statusCode(400);
        given().contentType("application/json").body("{\"inputs\":[{\"name\":\"X\",\"datatype\":\"FP32\",\"shape\":[1,3],\"data\":[1,1,1]}]}")
                .post("/v2/models/" + HeldWarmup.MODEL + "/infer")
                .then().statusCode(503).body("error", org.hamcrest.Matchers.containsString("WARMING"));

        HeldWarmup.release();

        Await.serverReady();
        given().get("/q/health/ready").then().statusCode(200)
                .body("checks.find { it.name == 'models' }.data.'held-warmup/1'", equalTo("READY"));
        given().get("/q/health/started").then().statusCode(200);
        given().get("/v2/models/" + HeldWarmup.MODEL + "/ready").then().statusCode(200);
        // gRPC health follows the model's state event, which the loader fires just after the state itself changes
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() ->
                grpcHealth("") == ServingStatus.SERVING
                        && grpcHealth("inference.GRPCInferenceService") == ServingStatus.SERVING);
    }

    private static ServingStatus grpcHealth(String service) throws InterruptedException {
        io.grpc.ManagedChannel channel = GrpcClients.channel();
        try {
            return grpc.health.v1.HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, java.util.concurrent.TimeUnit.SECONDS)
                    .check(grpc.health.v1.HealthOuterClass.HealthCheckRequest.newBuilder().setService(service).build())
                    .getStatus();
        } finally {
            channel.shutdownNow().awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    @Test
    @Order(2)
    void warmupFromSampleFiles() {
        Await.serverReady();
        given().get("/v2/models/warm-files/ready").then().statusCode(200);
        given().get("/q/health/ready").then().statusCode(200)
                .body("checks.find { it.name == 'models' }.data.'warm-files-bad/1'",
                        org.hamcrest.Matchers.containsString("FAILED: warmup file"))
                .body("checks.find { it.name == 'models' }.data.'warm-files-bad/1'",
                        org.hamcrest.Matchers.containsString("has 5 bytes"));
        // failed in its warmup: it reports the load it had and the warmup it failed in (both read 0 before)
        String metrics = given().get("/q/metrics").asString();
        for (String meter : List.of("sluice_model_load_seconds", "sluice_model_warmup_seconds")) {
            java.util.regex.Matcher m = java.util.regex.Pattern
                    .compile(meter + "\\{model=\"warm-files-bad\",version=\"1\"} (\\S+)").matcher(metrics);
            org.assertj.core.api.Assertions.assertThat(m.find()).as(meter).isTrue();
            org.assertj.core.api.Assertions.assertThat(Double.parseDouble(m.group(1))).as(meter).isPositive();
        }
    }

    @Test
    @Order(3)
    void aModelWhoseOutputDoesNotFollowTheBatchFailsAtWarmupSayingWhatToSet() {
        Await.serverReady();
        given().get("/q/health/ready").then().statusCode(200)
                .body("checks.find { it.name == 'models' }.data.'non-zero/1'",
                        org.hamcrest.Matchers.containsString("output 'Y' has shape [0, 2], whose first dimension is not the batch"))
                .body("checks.find { it.name == 'models' }.data.'non-zero/1'",
                        org.hamcrest.Matchers.containsString("batching.max-batch-size=1"));
    }

    @Test
    @Order(4)
    void warmupIsNotCutShortByTheRequestsAdmissionTimeout() {
        // its runs outlast its admission.timeout (20 ms), as a TensorRT engine build may outlast 60 s
        Await.serverReady();
        given().get("/v2/models/slow-warm/ready").then().statusCode(200);
    }

    @Test
    @Order(5)
    void aModelWhoseRowsAreASequenceIsServedWithoutBatches() {
        Await.serverReady();
        given().get("/v2/models/add/config").then().statusCode(200).body("max_batch_size", equalTo(8));
        // its shapes say batch, its values say sequence: READY, one request at a time, and its answers its own
        given().get("/v2/models/running-sum/config").then().statusCode(200).body("max_batch_size", equalTo(0));
        given().contentType("application/json")
                .body("{\"inputs\":[{\"name\":\"X\",\"datatype\":\"FP32\",\"shape\":[3],\"data\":[1,2,3]}]}")
                .post("/v2/models/running-sum/infer")
                .then().statusCode(200).body("outputs[0].data", org.hamcrest.Matchers.contains(1.0f, 3.0f, 6.0f));
    }
}
