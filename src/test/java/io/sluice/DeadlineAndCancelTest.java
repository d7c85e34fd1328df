package io.sluice;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;

import com.google.protobuf.ByteString;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.RestAssured;
import io.restassured.path.json.JsonPath;
import io.sluice.api.grpc.proto.GRPCInferenceServiceGrpc;
import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.api.grpc.proto.ModelInferResponse;
import io.sluice.fixtures.TcpRelay;
import io.sluice.fixtures.TinyModels;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * While one long request occupies the only instance: a queued request whose deadline passes, or
 * whose call or {@code ModelStreamInfer} stream is cancelled, leaves the queue at once and never runs; a gRPC call its client gave up on
 * at its deadline is counted as a passed deadline, one cancelled earlier as a cancellation.
 */
@QuarkusTest
@TestProfile(DeadlineAndCancelTest.Profile.class)
class DeadlineAndCancelTest {

    private static final int LONG_ROWS = 4096;
    /** How far a stream is read ahead of its answers ({@code sluice.grpc.stream-window}'s default), as the README states it. */
    private static final int STREAM_WINDOW = 256;

    /**
     * The byte window of a stream in this profile ({@code sluice.grpc.stream-window-bytes}): 4.5 MiB, which
     * the window test's long request and 255 requests of ~1 KiB (4.27 MiB) stay under.
     */
    private static final int STREAM_WINDOW_BYTES = (4 << 20) + (512 << 10);

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Path repo = TinyModels.newRepository("sluice-deadline");
            TinyModels.write(repo, "slow", 1, TinyModels.slow(2000));
            TinyModels.write(repo, "reshape", 1, TinyModels.reshape());
            TinyModels.write(repo, PriorityOrderTest.MODEL, 1, TinyModels.slow(2000));
            // VersionPolicyServedTest: three versions, of which the policy serves the two highest
            for (int v = 1; v <= 3; v++) {
                TinyModels.write(repo, VersionPolicyServedTest.MODEL, v, TinyModels.add());
            }
            // KServeLayoutTest: a second repository that is itself one model, as KServe mounts one
            Path kserve = KServeLayoutTest.repository();
            Map<String, String> config = new HashMap<>(Map.of(
                    "sluice.repository.paths", repo + "," + kserve,
                    "sluice.repository.model-name", KServeLayoutTest.MODEL,
                    "sluice.models.slow.batching.instances", "1",
                    "sluice.models.slow.batching.max-batch-size", "1",
                    "sluice.models.slow.threads.intra-op", "1",
                    // OverloadStatusTest: the bulkhead admits 1 running + 2 queued
                    "sluice.models.slow.admission.max-concurrent", "1",
                    "sluice.models.slow.batching.queue-size", "2",
                    "sluice.models.reshape.admission.circuit-breaker.request-volume", "2",
                    "sluice.models.reshape.admission.circuit-breaker.failure-ratio", "1.0",
                    "sluice.models.reshape.admission.circuit-breaker.delay", "60s"));
            config.put("sluice.models.reshape.warmup.enabled", "false"); // its run-time failures are its own
            config.put("sluice.models." + VersionPolicyServedTest.MODEL + ".version-policy", "latest:2");
            // aClientThatStopsTakingItsAnswersStopsTheServerReadingItsStream: room for a stream's whole window
            config.put("sluice.models." + VersionPolicyServedTest.MODEL + ".admission.max-concurrent", "1024");
            config.put("sluice.models." + VersionPolicyServedTest.MODEL + ".batching.queue-size", "1024");
            // aStreamIsReadNoFurtherThanItsByteWindowAhead: a long request and eight of 64 KiB fill it
            config.put("sluice.grpc.stream-window-bytes", Integer.toString(STREAM_WINDOW_BYTES));
            // PriorityOrderTest: a request that asks for no level runs at the anonymous tenant's default, 2
            config.put("sluice.tenants.anonymous.priority.default", "2");
            // PriorityOrderTest: one instance, one row at a time, three levels, room for the queue
            config.putAll(Map.ofEntries(
                    ranked("batching.instances", "1"),
                    ranked("batching.max-batch-size", "1"),
                    ranked("batching.priority-levels", "3"),
                    ranked("admission.max-concurrent", "1"),
                    ranked("batching.queue-size", "8"),
                    // aRequestOfAHigherLevelTakesThePlaceOfTheNewestOfTheLowestWhenTheModelIsFull: the exchange alone,
                    // without the shedding a full model starts, which would cut its queue to one
                    ranked("admission.shedding.enabled", "false"),
                    ranked("warmup.batch-sizes", "1")));
            return config;
        }
    }

    /** A setting of {@link PriorityOrderTest}'s model. */
    private static Map.Entry<String, String> ranked(String key, String value) {
        return Map.entry("sluice.models." + PriorityOrderTest.MODEL + "." + key, value);
    }

    @Test
    void expiredAndCancelledRequestsLeaveTheQueueAndNeverRun() throws Exception {
        Await.serverReady();
        JsonPath statsBefore = given().get("/v2/models/slow/versions/1/stats").then().statusCode(200).extract().jsonPath();
        double batchesBefore = gauge("sluice_batch_size_count\\{model=\"slow\"}");
        double deadlineRejectionsBefore = gauge("sluice_rejections_total\\{model=\"slow\",reason=\"deadline\"}");
        CompletableFuture<Integer> longRun = holdTheInstance();

        ManagedChannel channel = GrpcClients.channel();
        // a first ModelInfer on the channel opens its connection and takes the server's path once, so the
        // deadline below is spent in the queue, and the server reads it moments after the client set it
        StatusRuntimeException missing = org.assertj.core.api.Assertions.catchThrowableOfType(StatusRuntimeException.class,
                () -> GRPCInferenceServiceGrpc.newBlockingStub(channel).modelInfer(oneRow().toBuilder().setModelName("missing").build()));
        assertThat(missing.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
        double deadlinesBefore = grpcRequests("deadline");
        double cancelsBefore = grpcRequests("cancelled");
        try {
            // a gRPC deadline that passes while queued (the long request holds the instance for seconds longer)
            var expiring = GRPCInferenceServiceGrpc.newFutureStub(channel).withDeadlineAfter(2, TimeUnit.SECONDS)
                    .modelInfer(oneRow());
            // seen queued before its deadline
            await().atMost(Duration.ofMillis(1900)).pollInterval(Duration.ofMillis(20))
                    .until(() -> gauge("sluice_queue_depth\\{model=\"slow\"}") == 1);
            ExecutionException expired = org.assertj.core.api.Assertions.catchThrowableOfType(ExecutionException.class,
                    () -> expiring.get(30, TimeUnit.SECONDS));
            assertThat(Status.fromThrowable(expired.getCause()).getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
            await().atMost(Duration.ofSeconds(10)).until(() -> gauge("sluice_queue_depth\\{model=\"slow\"}") == 0);
            // the client gave up at its deadline: counted as a passed deadline, whichever side saw it first
            await().atMost(Duration.ofSeconds(5)).until(() -> grpcRequests("deadline") == deadlinesBefore + 1);
            assertThat(grpcRequests("cancelled")).isEqualTo(cancelsBefore);

            // a call the client cancels while it waits
            Context.CancellableContext context = Context.current().withCancellation();
            CompletableFuture<ModelInferResponse> cancelled = new CompletableFuture<>();
            context.run(() -> {
                var future = GRPCInferenceServiceGrpc.newFutureStub(channel).modelInfer(oneRow());
                future.addListener(() -> {
                    try {
                        cancelled.complete(future.get());
                    } catch (InterruptedException | ExecutionException | java.util.concurrent.CancellationException e) {
                        cancelled.completeExceptionally(e);
                    }
                }, Runnable::run);
            });
            await().atMost(Duration.ofSeconds(10)).until(() -> gauge("sluice_queue_depth\\{model=\"slow\"}") == 1);
            context.cancel(null);
            await().atMost(Duration.ofSeconds(10)).until(() -> gauge("sluice_queue_depth\\{model=\"slow\"}") == 0);
            assertThat(cancelled).isCompletedExceptionally();
            await().atMost(Duration.ofSeconds(5)).until(() -> grpcRequests("cancelled") == cancelsBefore + 1);
            assertThat(grpcRequests("deadline")).isEqualTo(deadlinesBefore + 1);

            // a ModelStreamInfer stream the client cancels while its request waits takes the request with it
            GrpcStream stream = GrpcStream.open(channel, false).send(oneRow().toBuilder().setId("streamed").build());
            await().atMost(Duration.ofSeconds(10)).until(() -> gauge("sluice_queue_depth\\{model=\"slow\"}") == 1);
            stream.cancel();
            await().atMost(Duration.ofSeconds(10)).until(() -> gauge("sluice_queue_depth\\{model=\"slow\"}") == 0);
            assertThat(stream.awaitEnd().getCode()).isEqualTo(Status.Code.CANCELLED);
            assertThat(stream.answers()).isEmpty();
            await().atMost(Duration.ofSeconds(5)).until(() -> grpcRequests("cancelled") == cancelsBefore + 2);
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }

        // the OIP timeout parameter, on REST
        BinaryRest.Input row = new BinaryRest.Input("X", "FP32", new long[] {1, 256}, new byte[1024]);
        byte[] header = ("{\"parameters\":{\"timeout\":200000},\"inputs\":[{\"name\":\"X\",\"datatype\":\"FP32\",\"shape\":[1,256],"
                + "\"parameters\":{\"binary_data_size\":1024}}]}").getBytes();
        given().header("Inference-Header-Content-Length", header.length).body(BinaryRestTest.concat(header, row.data()))
                .post("/v2/models/slow/infer").then().statusCode(504).body("error", containsString("deadline passed"));

        // only the long request ran: the others left the queue without ever reaching the instance
        assertThat(longRun.get(120, TimeUnit.SECONDS)).isEqualTo(200);
        assertThat(gauge("sluice_batch_size_count\\{model=\"slow\"}")).isEqualTo(batchesBefore + 1);
        assertThat(gauge("sluice_queue_depth\\{model=\"slow\"}")).isZero();
        // the gRPC deadline and the REST timeout (a cancel is not a deadline the server saw)
        assertThat(gauge("sluice_rejections_total\\{model=\"slow\",reason=\"deadline\"}"))
                .isGreaterThanOrEqualTo(deadlineRejectionsBefore + 2);
        // Triton's statistics: the long request succeeded; the gRPC deadline, the two cancels (a call and a stream's
        // request) and the REST timeout failed, as Triton counts a cancel; only the long request queued and ran
        JsonPath statsAfter = given().get("/v2/models/slow/versions/1/stats").then().statusCode(200).extract().jsonPath();
        assertThat(statsDelta(statsBefore, statsAfter, "success.count")).isEqualTo(1);
        assertThat(statsDelta(statsBefore, statsAfter, "fail.count")).isEqualTo(4);
        assertThat(statsDelta(statsBefore, statsAfter, "fail.ns")).isPositive();
        assertThat(statsDelta(statsBefore, statsAfter, "compute_infer.count")).isEqualTo(1);
    }

    private static long statsDelta(JsonPath before, JsonPath after, String field) {
        String path = "model_stats[0].inference_stats." + field;
        return after.getLong(path) - before.getLong(path);
    }

    @Test
    void callsWhoseConnectionIsLostLeaveTheQueue() throws Exception {
        Await.serverReady();
        double batchesBefore = gauge("sluice_batch_size_count\\{model=\"slow\"}");
        double cancelsBefore = grpcRequests("cancelled");
        double successesBefore = grpcRequests("success");
        CompletableFuture<Integer> longRun = holdTheInstance();
        try (TcpRelay relay = new TcpRelay(RestAssured.port)) {
            ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", relay.port()).usePlaintext().build();
            try {
                // a stream's request, and a ModelInfer call (on the bridge in DeadlineAndCancelBridgeTest)
                GrpcStream.open(channel, false).send(oneRow().toBuilder().setId("streamed").build());
                var unary = GRPCInferenceServiceGrpc.newFutureStub(channel).modelInfer(oneRow());
                await().atMost(Duration.ofSeconds(10)).until(() -> gauge("sluice_queue_depth\\{model=\"slow\"}") == 2);
                // the client process is gone: no RST_STREAM, no GOAWAY, its kernel resets the connection
                relay.drop();
                await().atMost(Duration.ofSeconds(10)).until(() -> gauge("sluice_queue_depth\\{model=\"slow\"}") == 0);
                await().atMost(Duration.ofSeconds(5)).until(() -> grpcRequests("cancelled") == cancelsBefore + 2);
                ExecutionException broken = org.assertj.core.api.Assertions.catchThrowableOfType(ExecutionException.class,
                        () -> unary.get(10, TimeUnit.SECONDS));
                assertThat(Status.fromThrowable(broken.getCause()).getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            } finally {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
        assertThat(longRun.get(120, TimeUnit.SECONDS)).isEqualTo(200);
        // the two left the queue unrun, and were not counted as answered
        assertThat(gauge("sluice_batch_size_count\\{model=\"slow\"}")).isEqualTo(batchesBefore + 1);
        assertThat(grpcRequests("success")).isEqualTo(successesBefore);
    }

    @Test
    void aStreamIsReadItsWindowAheadOfItsAnswersAndEveryRequestIsAnswered() {
        Await.serverReady();
        ManagedChannel channel = GrpcClients.channel();
        double invalidBefore = grpcRequests("invalid");
        int more = 100;
        try {
            // the first request runs long; the invalid ones after it fail at once but their answers wait for it
            GrpcStream stream = GrpcStream.open(channel, false).send(rows(LONG_ROWS).setId("long").build());
            ModelInferRequest invalid = rows(1).setInputs(0, rows(1).getInputs(0).toBuilder().setName("Y")).build();
            for (int i = 1; i < STREAM_WINDOW + more; i++) {
                stream.send(invalid.toBuilder().setId("n" + i).build());
            }
            stream.halfClose();
            // the server reads the window's worth (the long one and 255 more) and no further while none is answered
            await().atMost(Duration.ofSeconds(10)).until(() -> grpcRequests("invalid") >= invalidBefore + STREAM_WINDOW - 1);
            double readWhileHeld = grpcRequests("invalid");
            assertThat(stream.answers()).as("the long request must still be running").isEmpty();
            assertThat(readWhileHeld).isEqualTo(invalidBefore + STREAM_WINDOW - 1);

            // then, as answers leave, the rest are read: every request answered, in the order sent, none refused
            assertThat(stream.awaitEnd().getCode()).isEqualTo(Status.Code.OK);
            List<io.sluice.api.grpc.proto.ModelStreamInferResponse> answers = stream.answers();
            assertThat(answers).hasSize(STREAM_WINDOW + more);
            assertThat(answers.get(0).getInferResponse().getId()).isEqualTo("long");
            assertThat(answers.get(0).getErrorMessage()).isEmpty();
            for (int i = 1; i < STREAM_WINDOW + more; i++) {
                assertThat(answers.get(i).getInferResponse().getId()).isEqualTo("n" + i);
                assertThat(answers.get(i).getErrorMessage()).contains("missing input 'X'");
            }
            assertThat(grpcRequests("invalid")).isEqualTo(invalidBefore + STREAM_WINDOW + more - 1);
        } finally {
            shutdown(channel);
        }
    }

    @Test
    void aStreamIsReadNoFurtherThanItsByteWindowAhead() {
        Await.serverReady();
        ManagedChannel channel = GrpcClients.channel();
        double invalidBefore = grpcRequests("invalid");
        int sent = 20;
        try {
            // the long request holds 4 MiB of the 4.5 MiB window; each invalid one after it 64 KiB (and a few bytes)
            GrpcStream stream = GrpcStream.open(channel, false).send(rows(LONG_ROWS).setId("long").build());
            ModelInferRequest invalid = rows(64).setInputs(0, rows(64).getInputs(0).toBuilder().setName("Y")).build();
            for (int i = 1; i <= sent; i++) {
                stream.send(invalid.toBuilder().setId("n" + i).build());
            }
            stream.halfClose();
            // read: the long one, then seven that leave room, and the eighth that fills the window; no more
            // (with a window of 1 GiB all twenty were read)
            assertThat(plateau(() -> grpcRequests("invalid") - invalidBefore)).isEqualTo(8);
            assertThat(stream.answers()).as("the long request must still be running").isEmpty();

            assertThat(stream.awaitEnd().getCode()).isEqualTo(Status.Code.OK);
            assertThat(stream.answers()).extracting(a -> a.getInferResponse().getId())
                    .containsExactlyElementsOf(Stream.concat(Stream.of("long"),
                            IntStream.rangeClosed(1, sent).mapToObj(i -> "n" + i)).toList());
            assertThat(grpcRequests("invalid")).isEqualTo(invalidBefore + sent);
        } finally {
            shutdown(channel);
        }
    }

    @Test
    void aClientThatStopsTakingItsAnswersStopsTheServerReadingItsStream() {
        Await.serverReady();
        ManagedChannel channel = GrpcClients.channel();
        int sent = 2000; // 16 KB each way apiece: far more than HTTP/2 windows and the stream's window hold
        double before = versionedAnswers();
        try {
            GrpcStream stream = GrpcStream.openNotReading(channel);
            ModelInferRequest request = addRows(256);
            for (int i = 0; i < sent; i++) {
                stream.send(request.toBuilder().setId("r" + i).build());
            }
            stream.halfClose();
            // the server answers until the client's window is full, then reads no more: its count stops
            // well short of what was sent (167 here, read one at a time: the answers that filled grpc-java's
            // 1 MiB HTTP/2 window and the write queue; 382 when the window was asked for at once; without the
            // stream's window it read and answered all 2000)
            assertThat(plateau(() -> versionedAnswers() - before)).as("requests read while the client took no answers")
                    .isLessThanOrEqualTo(4 * STREAM_WINDOW);
            assertThat(stream.answers()).isEmpty();

            // once it reads again, the rest are read and every request is answered, in order
            stream.take(sent);
            assertThat(stream.awaitEnd().getCode()).isEqualTo(Status.Code.OK);
            List<io.sluice.api.grpc.proto.ModelStreamInferResponse> answers = stream.answers();
            assertThat(answers).hasSize(sent);
            for (int i = 0; i < sent; i++) {
                assertThat(answers.get(i).getErrorMessage()).isEmpty();
                assertThat(answers.get(i).getInferResponse().getId()).isEqualTo("r" + i);
            }
        } finally {
            shutdown(channel);
        }
    }

    @Test
    void withTritonGrpcErrorAFailureInItsTurnEndsTheStreamAndReleasesTheRest() {
        Await.serverReady();
        ManagedChannel channel = GrpcClients.channel();
        try {
            GrpcStream stream = GrpcStream.open(channel, true).send(rows(512).setId("long").build())
                    .send(ModelInferRequest.newBuilder().setModelName("nope").setId("missing").build())
                    .send(oneRow().toBuilder().setId("after").build());
            assertThat(stream.awaitEnd().getCode()).isEqualTo(Status.Code.NOT_FOUND);
            assertThat(stream.answers()).extracting(a -> a.getInferResponse().getId()).containsExactly("long");
            // whether "after" ran or was cancelled, nothing of the stream is left holding the model
            await().atMost(Duration.ofSeconds(10)).until(() -> gauge("sluice_bulkhead_held\\{model=\"slow\",version=\"1\"}") == 0);
            assertThat(gauge("sluice_queue_depth\\{model=\"slow\"}")).isZero();
        } finally {
            shutdown(channel);
        }
    }

    private static void shutdown(ManagedChannel channel) {
        try {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** {@code n} rows for the slow model. */
    private static ModelInferRequest.Builder rows(int n) {
        return ModelInferRequest.newBuilder().setModelName("slow")
                .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("X").setDatatype("FP32").addShape(n).addShape(256))
                .addRawInputContents(ByteString.copyFrom(new byte[n * 1024]));
    }

    /** {@code n} rows for {@link VersionPolicyServedTest}'s add model: 16 bytes a row in each input and each output. */
    private static ModelInferRequest addRows(int n) {
        ModelInferRequest.Builder request = ModelInferRequest.newBuilder().setModelName(VersionPolicyServedTest.MODEL);
        for (String input : List.of("A", "B")) {
            request.addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName(input).setDatatype("FP32")
                    .addShape(n).addShape(4)).addRawInputContents(ByteString.copyFrom(new byte[n * 16]));
        }
        return request.build();
    }

    /**
     * The value {@code count} stops at: it is above 0 and reads the same four times running, 300 ms apart (so a
     * pause of a few hundred milliseconds on a busy machine is not taken for the stop). A test that something
     * stops needs a window of time; the bound each caller checks failed without what it tests.
     */
    private static double plateau(DoubleSupplier count) {
        double[] last = {-1};
        int[] same = {0};
        return await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300)).until(() -> {
            double now = count.getAsDouble();
            same[0] = now > 0 && now == last[0] ? same[0] + 1 : 0;
            last[0] = now;
            return same[0] >= 3 ? now : -1;
        }, n -> n >= 0);
    }

    /** Requests the add model answered over gRPC. */
    private static double versionedAnswers() {
        return gauge("sluice_requests_total\\{model=\"" + VersionPolicyServedTest.MODEL
                + "\",outcome=\"success\",protocol=\"grpc\"}");
    }

    /** One row for the slow model, over gRPC. */
    static ModelInferRequest oneRow() {
        return ModelInferRequest.newBuilder().setModelName("slow")
                .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("X").setDatatype("FP32").addShape(1).addShape(256))
                .addRawInputContents(ByteString.copyFrom(new byte[1024])).build();
    }

    /** Sends a request of {@link #LONG_ROWS} rows, which holds the slow model's one instance for seconds, once it runs. */
    private static CompletableFuture<Integer> holdTheInstance() {
        CompletableFuture<Integer> longRun = CompletableFuture.supplyAsync(() -> BinaryRest.post("slow",
                List.of(new BinaryRest.Input("X", "FP32", new long[] {LONG_ROWS, 256}, new byte[LONG_ROWS * 256 * 4])),
                BinaryRest.PATIENT).statusCode());
        await().atMost(Duration.ofSeconds(10)).until(() -> gauge("sluice_inflight\\{model=\"slow\"}") == 1);
        return longRun;
    }

    /** The slow model's gRPC requests that ended with {@code outcome}. */
    private static double grpcRequests(String outcome) {
        return gauge("sluice_requests_total\\{model=\"slow\",outcome=\"" + outcome + "\",protocol=\"grpc\"}");
    }

    private static double gauge(String nameAndTags) {
        return BatchingTest.metric(given().get("/q/metrics").asString(), nameAndTags);
    }
}
