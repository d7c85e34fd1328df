package io.sluice;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.notNullValue;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.sluice.api.grpc.proto.GRPCInferenceServiceGrpc;
import io.sluice.api.grpc.proto.InferTensorContents;
import io.sluice.api.grpc.proto.ModelInferRequest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The 503 rejections end to end, on REST and gRPC: a full bulkhead (while one long request holds the
 * slow model's only instance), which also switches the model to shedding until it idles, and an open circuit breaker (after the reshape model failed at run
 * time). Both come back at once with Retry-After / RetryInfo, and other models keep serving.
 */
@QuarkusTest
@TestProfile(DeadlineAndCancelTest.Profile.class)
class OverloadStatusTest {

    private static final int LONG_ROWS = 2048;

    /** A thread per blocked caller: the common pool has only two on a 3-core machine. */
    private ExecutorService callers;

    @BeforeEach
    void startCallers() {
        callers = Executors.newCachedThreadPool();
    }

    @AfterEach
    void stopCallers() {
        callers.shutdownNow();
    }

    @Test
    void aFullBulkheadAnswers503AndUnavailableAtOnce() throws Exception {
        Await.serverReady();
        double fullBefore = gauge("sluice_rejections_total\\{model=\"slow\",reason=\"bulkhead_full\"}");
        CompletableFuture<Integer> longRun = CompletableFuture.supplyAsync(() -> BinaryRest.post("slow",
                List.of(new BinaryRest.Input("X", "FP32", new long[] {LONG_ROWS, 256}, new byte[LONG_ROWS * 256 * 4])),
                BinaryRest.PATIENT).statusCode(), callers);
        await().atMost(Duration.ofSeconds(10)).until(() -> gauge("sluice_inflight\\{model=\"slow\"}") == 1);
        // two wait in the scheduler's queue
        CompletableFuture<Integer> queued = CompletableFuture.supplyAsync(() -> oneRowRest(BinaryRest.PATIENT).statusCode(),
                callers);
        await().atMost(Duration.ofSeconds(10)).until(() -> gauge("sluice_queue_depth\\{model=\"slow\"}") == 1);
        CompletableFuture<Integer> queuedLast = CompletableFuture.supplyAsync(
                () -> oneRowRest(BinaryRest.PATIENT).statusCode(), callers);
        await().atMost(Duration.ofSeconds(10)).until(() -> gauge("sluice_queue_depth\\{model=\"slow\"}") == 2);
        assertThat(gauge("sluice_bulkhead_held\\{model=\"slow\",version=\"1\"}")).isEqualTo(3);
        assertThat(gauge("sluice_concurrency_limit\\{model=\"slow\",version=\"1\"}")).isEqualTo(3); // no adaptive limit: the capacity

        long start = System.nanoTime();
        var rejected = oneRowRest();
        // answered at once, not after the long run (which takes many seconds)
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        rejected.then().statusCode(503).body("error", containsString("model 'slow' is at capacity (3 requests admitted)"));
        assertThat(Integer.parseInt(rejected.header("Retry-After"))).isPositive();
        // the overflow switched the model to shedding: the one running plus the CPU default shedding queue of one,
        // and the request queued last is cut from the queue at once
        assertThat(gauge("sluice_concurrency_limit\\{model=\"slow\",version=\"1\"}")).isEqualTo(2);
        assertThat(queuedLast.get(10, TimeUnit.SECONDS)).isEqualTo(503);
        // decided before the body is read: one that is not even JSON gets the 503, not a 400 (the one running and
        // the one queued fill the shedding's limit)
        given().contentType(ContentType.JSON).body("{not json").post("/v2/models/slow/infer").then().statusCode(503)
                .header("Retry-After", notNullValue()).body("error", containsString("model 'slow' is overloaded"));

        ManagedChannel channel = GrpcClients.channel();
        try {
            StatusRuntimeException full = catchThrowableOfType(StatusRuntimeException.class,
                    () -> GRPCInferenceServiceGrpc.newBlockingStub(channel).modelInfer(DeadlineAndCancelTest.oneRow()));
            assertThat(full.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            assertThat(full.getStatus().getDescription()).contains("is overloaded");
            assertThat(GrpcClients.retryDelaySeconds(full)).isGreaterThanOrEqualTo(1);
            assertThat(pushbackMillis(full)).isEqualTo(GrpcClients.retryDelaySeconds(full) * 1000); // whole seconds here
            // and on gRPC a tensor that could never run is not even looked at
            StatusRuntimeException stillFull = catchThrowableOfType(StatusRuntimeException.class,
                    () -> GRPCInferenceServiceGrpc.newBlockingStub(channel).modelInfer(ModelInferRequest.newBuilder()
                            .setModelName("slow").addInputs(ModelInferRequest.InferInputTensor.newBuilder()
                                    .setName("X").setDatatype("NOT_A_TYPE").addShape(1)).build()));
            assertThat(stillFull.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            // on a ModelStreamInfer stream: in the stream, saying when to retry; or, asked for with
            // triton_grpc_error, as the stream's status with RetryInfo
            GrpcStream streamed = GrpcStream.open(channel, false).send(DeadlineAndCancelTest.oneRow().toBuilder().setId("s").build());
            var answer = streamed.awaitAnswers(1).get(0);
            assertThat(answer.getErrorMessage()).contains("is overloaded").containsPattern("\\(retry after \\d+ ms\\)$");
            assertThat(answer.getInferResponse().getId()).isEqualTo("s");
            assertThat(streamed.halfClose().awaitEnd().getCode()).isEqualTo(Status.Code.OK);
            GrpcStream strict = GrpcStream.open(channel, true).send(DeadlineAndCancelTest.oneRow());
            assertThat(strict.awaitEnd().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            assertThat(strict.failure().getStatus().getDescription()).contains("is overloaded");
            assertThat(GrpcClients.retryDelaySeconds(strict.failure())).isGreaterThanOrEqualTo(1);
            assertThat(pushbackMillis(strict.failure())).isGreaterThanOrEqualTo(1000); // through the bridge too
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }

        assertThat(longRun.get(120, TimeUnit.SECONDS)).isEqualTo(200);
        assertThat(queued.get(120, TimeUnit.SECONDS)).isEqualTo(200);
        await().atMost(Duration.ofSeconds(10)).until(() -> gauge("sluice_bulkhead_held\\{model=\"slow\",version=\"1\"}") == 0);
        // six turned away, and the one the shedding cut from the queue
        assertThat(gauge("sluice_rejections_total\\{model=\"slow\",reason=\"bulkhead_full\"}")).isEqualTo(fullBefore + 7);
        // idle now: a request after a 500 ms window with the instance waiting for work ends the shedding
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200)).until(() -> {
            oneRowRest().then().statusCode(200);
            return gauge("sluice_concurrency_limit\\{model=\"slow\",version=\"1\"}") == 3;
        });
    }

    @Test
    void repeatedRuntimeFailuresOpenTheCircuitOnlyForThatModel() {
        Await.serverReady();
        double openBefore = gauge("sluice_rejections_total\\{model=\"reshape\",reason=\"circuit_open\"}");
        Map<String, Object> twoRows = Map.of("inputs", List.of(Map.of("name", "X", "datatype", "FP32",
                "shape", List.of(2, 4), "data", List.of(1, 2, 3, 4, 5, 6, 7, 8))));
        for (int i = 0; i < 2; i++) {
            given().contentType(ContentType.JSON).body(twoRows).post("/v2/models/reshape/infer")
                    .then().statusCode(500).body("error", containsString("model 'reshape' failed"));
        }
        given().contentType(ContentType.JSON).body(twoRows).post("/v2/models/reshape/infer")
                .then().statusCode(503).header("Retry-After", "60")
                .body("error", containsString("circuit breaker is open"));
        // decided before the body is read: a body that is not even JSON gets the 503, not a 400
        given().contentType(ContentType.JSON).body("{not json").post("/v2/models/reshape/infer")
                .then().statusCode(503).header("Retry-After", "60")
                .body("error", containsString("circuit breaker is open"));
        ManagedChannel channel = GrpcClients.channel();
        try {
            StatusRuntimeException open = catchThrowableOfType(StatusRuntimeException.class,
                    () -> GRPCInferenceServiceGrpc.newBlockingStub(channel).modelInfer(ModelInferRequest.newBuilder()
                            .setModelName("reshape")
                            .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("X").setDatatype("FP32")
                                    .addShape(1).addShape(4)
                                    .setContents(InferTensorContents.newBuilder().addAllFp32Contents(List.of(1f, 2f, 3f, 4f))))
                            .build()));
            assertThat(open.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            // what is left of the breaker's 60 s delay
            assertThat(GrpcClients.retryDelaySeconds(open)).isBetween(50L, 60L);
        } finally {
            channel.shutdownNow();
        }
        oneRowRest().then().statusCode(200); // the other model serves on
        assertThat(gauge("sluice_rejections_total\\{model=\"reshape\",reason=\"circuit_open\"}")).isEqualTo(openBefore + 3);
    }

    private static io.restassured.response.Response oneRowRest() {
        return oneRowRest(io.restassured.RestAssured.config());
    }

    /** One row, with RestAssured's {@code config}: {@link BinaryRest#PATIENT} for one queued behind the long run. */
    private static io.restassured.response.Response oneRowRest(io.restassured.config.RestAssuredConfig config) {
        return BinaryRest.post("slow", List.of(new BinaryRest.Input("X", "FP32", new long[] {1, 256}, new byte[1024])),
                config);
    }

    private static double gauge(String nameAndTags) {
        return BatchingTest.metric(given().get("/q/metrics").asString(), nameAndTags);
    }

    /** The {@code grpc-retry-pushback-ms} a channel's retry policy waits (gRFC A6). */
    private static long pushbackMillis(StatusRuntimeException e) {
        return Long.parseLong(e.getTrailers().get(io.grpc.Metadata.Key.of("grpc-retry-pushback-ms",
                io.grpc.Metadata.ASCII_STRING_MARSHALLER)));
    }
}
