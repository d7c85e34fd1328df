package io.sluice;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.grpc.ManagedChannel;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import jakarta.inject.Inject;
import io.sluice.api.LargeBodies;
import io.sluice.api.grpc.proto.GRPCInferenceServiceGrpc;
import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.api.grpc.proto.ModelInferResponse;
import io.sluice.fixtures.TinyModels;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Alternative;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A REST body that would hold an event loop up for long (here, a compressed one that could inflate past 256 KiB), or a
 * compressed gRPC message that could inflate past 1 MiB, is read off the event loop: while it waits to be read, the
 * server's only event loop answers another request; then it is read and answered. One the model would turn away unread is turned away at once, and past the readers and as
 * many waiting, a 503. A body or gRPC message whose client cancels it, or whose deadline passes, while it waits for a
 * reader is never run, and one past its deadline is answered then, counted once. (That it is not even parsed, the
 * reader's own check, no answer shows: a parsed message that was answered is dropped before it starts.) The readers are the real ones, each task held at a gate the test opens.
 */
@QuarkusTest
@TestProfile(LargeBodyReadTest.Profile.class)
class LargeBodyReadTest {

    @Inject
    Vertx vertx;

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Path repo = TinyModels.newRepository("sluice-large-body");
            TinyModels.write(repo, "add", 1, TinyModels.add());
            return Map.of("sluice.repository.paths", repo.toString(), "quarkus.vertx.event-loops-pool-size", "1");
        }

        @Override
        public Set<Class<?>> getEnabledAlternatives() {
            return Set.of(GatedLargeBodies.class);
        }
    }

    /** The real readers, each of whose tasks waits for {@link #open} first. */
    @Alternative // selected by the profile alone
    @ApplicationScoped
    public static class GatedLargeBodies extends LargeBodies {
        static volatile CountDownLatch open = new CountDownLatch(1);
        static final AtomicInteger waiting = new AtomicInteger();
        /** Tasks of this gate that have run to their end, once it opened (a gate's own: a late one of the last is not). */
        static volatile AtomicInteger done = new AtomicInteger();

        @Override
        public Executor executor() {
            Executor readers = super.executor();
            return task -> {
                waiting.incrementAndGet();
                CountDownLatch gate = open;
                AtomicInteger ended = done;
                readers.execute(() -> {
                    try {
                        if (gate.await(60, TimeUnit.SECONDS)) {
                            task.run();
                            ended.incrementAndGet();
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
            };
        }
    }

    private static final String QUEUE_FULL_OF_UNKNOWN =
            "sluice_rejections_total\\{model=\"_unknown\",reason=\"queue_full\"}";
    private static final String DEADLINE_OF_UNKNOWN =
            "sluice_rejections_total\\{model=\"_unknown\",reason=\"deadline\"}";

    /** An id of random digits keeps it past 255 bytes compressed, so that it could inflate past 256 KiB. */
    private static final String BODY = """
            {"id": "%s", "inputs": [
              {"name": "A", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]},
              {"name": "B", "datatype": "FP32", "shape": [1, 4], "data": [10, 20, 30, 40]}]}"""
            .formatted(new java.math.BigInteger(2048, new java.util.Random(7)).toString(16));

    @BeforeEach
    void closeTheGate() {
        Await.serverReady();
        GatedLargeBodies.open = new CountDownLatch(1);
        GatedLargeBodies.waiting.set(0);
        GatedLargeBodies.done = new AtomicInteger();
    }

    @AfterEach
    void openIt() {
        GatedLargeBodies.open.countDown();
    }

    private static Response postCompressed(String model, byte[] gzipped) {
        return given().contentType(ContentType.JSON).header("Content-Encoding", "gzip").body(gzipped)
                .post("/v2/models/" + model + "/infer");
    }

    @Test
    void aRequestTheModelWouldTurnAwayUnreadIsTurnedAwayAtOnceNotAfterAWaitForAReader() {
        postCompressed("nope", gzip(BODY)).then().statusCode(404);
        assertThat(GatedLargeBodies.waiting.get()).isZero();
    }

    @Test
    void pastTheReadersAndAsManyWaitingALargeBodyIsTurnedAwayWith503() throws Exception {
        int readers = 1; // as many as event loops, one here; and as many may wait
        byte[] gzipped = gzip(BODY);
        ExecutorService clients = Executors.newFixedThreadPool(2 * readers);
        try {
            List<Future<Response>> taken = new ArrayList<>();
            for (int i = 0; i < 2 * readers; i++) {
                taken.add(clients.submit(() -> postCompressed("add", gzipped)));
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> GatedLargeBodies.waiting.get() == 2 * readers);

            postCompressed("add", gzipped).then().statusCode(503).header("Retry-After", "1")
                    .body("error", containsString("large request bodies"));

            GatedLargeBodies.open.countDown();
            for (Future<Response> answer : taken) {
                answer.get(60, TimeUnit.SECONDS).then().statusCode(200)
                        .body("outputs.find { it.name == 'SUM' }.data", contains(11f, 22f, 33f, 44f));
            }
        } finally {
            clients.shutdownNow();
        }
    }

    @Test
    void aCompressedBodyIsReadOffTheEventLoopWhichServesOthersMeanwhile() {
        byte[] gzipped = gzip(BODY);
        assertThat(gzipped.length).isGreaterThan(255);
        CompletableFuture<Response> compressed = CompletableFuture.supplyAsync(() -> postCompressed("add", gzipped));
        await().atMost(Duration.ofSeconds(30)).until(() -> GatedLargeBodies.waiting.get() == 1);

        // the one event loop is free: a plain request is answered while the compressed one waits to be read
        given().contentType(ContentType.JSON).body(BODY).post("/v2/models/add/infer")
                .then().statusCode(200).body("outputs.find { it.name == 'SUM' }.data", contains(11f, 22f, 33f, 44f));
        assertThat(compressed).isNotDone();
        assertThat(GatedLargeBodies.waiting.get()).isEqualTo(1);

        GatedLargeBodies.open.countDown();
        compressed.join().then().statusCode(200)
                .body("outputs.find { it.name == 'SUM' }.data", contains(11f, 22f, 33f, 44f))
                .body("outputs.find { it.name == 'DIFF' }.data", contains(-9f, -18f, -27f, -36f));
    }

    @Test
    void aBodyStillWaitingForAReaderAtItsDeadlineIsAnswered504ThenAndNeverRead() throws Exception {
        String deadlines = "sluice_requests_total\\{model=\"add\",outcome=\"deadline\",protocol=\"rest\"}";
        double before = sample(deadlines);
        long sent = System.nanoTime();
        CompletableFuture<Response> compressed = CompletableFuture.supplyAsync(() -> given().contentType(ContentType.JSON)
                .header("Content-Encoding", "gzip").header("Sluice-Timeout-Us", "500000").body(gzip(BODY))
                .post("/v2/models/add/infer"));
        await().atMost(Duration.ofSeconds(30)).until(() -> GatedLargeBodies.waiting.get() == 1);

        // answered at its deadline while the reader is still held
        compressed.get(30, TimeUnit.SECONDS).then().statusCode(504)
                .body("error", containsString("deadline passed while the request body waited to be read"));
        assertThat(System.nanoTime() - sent).isGreaterThanOrEqualTo(500_000_000L);
        assertThat(GatedLargeBodies.done.get()).isZero();
        assertThat(sample(deadlines)).isEqualTo(before + 1);
        double requests = requestsOf("add");
        double runs = runsOf("add");

        GatedLargeBodies.open.countDown();
        await().atMost(Duration.ofSeconds(30)).until(() -> GatedLargeBodies.done.get() == 1);
        // the reader found it answered: neither read and run, nor counted again, by the time a plain request is
        given().contentType(ContentType.JSON).body(BODY).post("/v2/models/add/infer").then().statusCode(200);
        assertThat(requestsOf("add")).isEqualTo(requests + 1);
        assertThat(runsOf("add")).isEqualTo(runs + 1);
        assertThat(sample(deadlines)).isEqualTo(before + 1);
    }

    @Test
    void aBodyWhoseClientGoesAwayWhileItWaitsForAReaderIsNeverRunAndCountedCancelled() throws Exception {
        String success = "sluice_requests_total\\{model=\"add\",outcome=\"success\",protocol=\"rest\"}";
        String cancelled = "sluice_requests_total\\{model=\"add\",outcome=\"cancelled\",protocol=\"rest\"}";
        double successes = sample(success);
        double cancels = sample(cancelled);
        double runs = runsOf("add");
        HttpClient http = vertx.createHttpClient();
        try {
            http.request(new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1")
                            .setPort(io.restassured.RestAssured.port).setURI("/v2/models/add/infer")
                            .putHeader("content-type", "application/json").putHeader("content-encoding", "gzip"))
                    .compose(r -> r.send(Buffer.buffer(gzip(BODY))));
            await().atMost(Duration.ofSeconds(30)).until(() -> GatedLargeBodies.waiting.get() == 1);
            Http2Clients.close(http); // the client goes away, its connection with it
            await().atMost(Duration.ofSeconds(30)).until(() -> sample(cancelled) == cancels + 1);

            GatedLargeBodies.open.countDown();
            await().atMost(Duration.ofSeconds(30)).until(() -> GatedLargeBodies.done.get() == 1);
            given().contentType(ContentType.JSON).body(BODY).post("/v2/models/add/infer").then().statusCode(200);
            assertThat(sample(success)).isEqualTo(successes + 1); // the plain one's alone
            assertThat(runsOf("add")).isEqualTo(runs + 1);
            assertThat(sample(cancelled)).isEqualTo(cancels + 1);
        } finally {
            http.close();
        }
    }

    @Test
    void aCompressedGrpcMessageThatCouldInflatePastAMebibyteIsReadOffTheEventLoop() throws Exception {
        ModelInferRequest request = largeCompressedAdd(); // so that it could inflate past 1 MiB
        String id = request.getId();
        ManagedChannel channel = GrpcClients.channel();
        try {
            var compressed = GRPCInferenceServiceGrpc.newFutureStub(channel).withCompression("gzip")
                    .withDeadlineAfter(60, TimeUnit.SECONDS).modelInfer(request);
            await().atMost(Duration.ofSeconds(30)).until(() -> GatedLargeBodies.waiting.get() == 1);

            // the one event loop is free: a plain call is answered while the compressed one waits to be read
            ModelInferResponse plain = GRPCInferenceServiceGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(30, TimeUnit.SECONDS).modelInfer(request.toBuilder().setId("plain").build());
            assertThat(plain.getId()).isEqualTo("plain");
            assertThat(compressed).isNotDone();

            GatedLargeBodies.open.countDown();
            ModelInferResponse answer = compressed.get(60, TimeUnit.SECONDS);
            assertThat(answer.getId()).isEqualTo(id);
            assertThat(answer.getOutputsList()).extracting(ModelInferResponse.InferOutputTensor::getName)
                    .containsExactly("SUM", "DIFF");
            assertThat(GrpcProtocolTest.floats(answer.getRawOutputContents(0))).containsExactly(11, 22, 33, 44);
            assertThat(GrpcProtocolTest.floats(answer.getRawOutputContents(1))).containsExactly(-9, -18, -27, -36);
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void pastTheReadersAndAsManyWaitingACompressedGrpcMessageOrStreamMessageIsTurnedAwayUnavailableAndCountedSo() throws Exception {
        ModelInferRequest request = largeCompressedAdd();
        ManagedChannel channel = GrpcClients.channel();
        try {
            var stub = GRPCInferenceServiceGrpc.newFutureStub(channel).withCompression("gzip")
                    .withDeadlineAfter(60, TimeUnit.SECONDS);
            // one at a time, each read asked for before the next call: the reader's, then the one waiting slot
            var first = stub.modelInfer(request); // read by the one reader (as many as event loops, one here)
            awaitReads(1, first);
            var second = stub.modelInfer(request); // waiting its turn
            awaitReads(2, second);
            double before = sample(QUEUE_FULL_OF_UNKNOWN);

            io.grpc.StatusRuntimeException refused = org.junit.jupiter.api.Assertions.assertThrows(
                    io.grpc.StatusRuntimeException.class, () -> GRPCInferenceServiceGrpc.newBlockingStub(channel)
                            .withCompression("gzip").withDeadlineAfter(30, TimeUnit.SECONDS).modelInfer(request));
            assertThat(refused.getStatus().getCode()).isEqualTo(io.grpc.Status.Code.UNAVAILABLE);
            assertThat(refused.getStatus().getDescription()).contains("large request bodies");
            // the server's load, not the client's mistake: a queue_full rejection, as a full model's
            assertThat(sample(QUEUE_FULL_OF_UNKNOWN)).isEqualTo(before + 1);
            // so is a stream's such message: the stream ends with it (none before it to answer)
            io.grpc.Status streamEnd = GrpcStream.openGzip(channel).send(request).awaitEnd();
            assertThat(streamEnd.getCode()).isEqualTo(io.grpc.Status.Code.UNAVAILABLE);
            assertThat(streamEnd.getDescription()).contains("large request bodies");
            assertThat(sample(QUEUE_FULL_OF_UNKNOWN)).isEqualTo(before + 2);

            GatedLargeBodies.open.countDown();
            for (var answer : List.of(first, second)) {
                assertThat(GrpcProtocolTest.floats(answer.get(60, TimeUnit.SECONDS).getRawOutputContents(0)))
                        .containsExactly(11, 22, 33, 44);
            }
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void aLargeCompressedStreamMessageIsReadOffTheEventLoopAndTheOnesAfterItWaitForIt() throws Exception {
        ModelInferRequest large = largeCompressedAdd();
        double runs = runsOf("add");
        ManagedChannel channel = GrpcClients.channel();
        try {
            GrpcStream stream = GrpcStream.openGzip(channel).send(large)
                    .send(large.toBuilder().setId("small").build());
            await().atMost(Duration.ofSeconds(30)).until(() -> GatedLargeBodies.waiting.get() == 1);

            // the one event loop is free: a plain call is answered while the stream's message waits to be read
            ModelInferResponse plain = GRPCInferenceServiceGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(30, TimeUnit.SECONDS).modelInfer(large.toBuilder().setId("plain").build());
            assertThat(plain.getId()).isEqualTo("plain");
            // and the small message after it has not run: only the plain call has
            assertThat(runsOf("add")).isEqualTo(runs + 1);
            assertThat(stream.answers()).isEmpty();

            GatedLargeBodies.open.countDown();
            assertThat(stream.awaitAnswers(2)).extracting(a -> a.getInferResponse().getId())
                    .containsExactly(large.getId(), "small");
            stream.halfClose();
            assertThat(stream.awaitEnd().getCode()).isEqualTo(io.grpc.Status.Code.OK);
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void aCompressedGrpcMessageCancelledWhileItWaitsIsNeverRun() throws Exception {
        ModelInferRequest request = largeCompressedAdd();
        ManagedChannel channel = GrpcClients.channel(); // one connection: the cancel reaches the server before the next call
        try {
            var compressed = GRPCInferenceServiceGrpc.newFutureStub(channel).withCompression("gzip")
                    .withDeadlineAfter(60, TimeUnit.SECONDS).modelInfer(request);
            awaitReads(1, compressed);
            compressed.cancel(true);
            var plain = GRPCInferenceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
            plain.modelInfer(request.toBuilder().setId("after the cancel").build());
            double before = requestsOf("add");
            double refusals = sample(DEADLINE_OF_UNKNOWN) + sample(QUEUE_FULL_OF_UNKNOWN);

            GatedLargeBodies.open.countDown();
            await().atMost(Duration.ofSeconds(30)).until(() -> GatedLargeBodies.done.get() == 1);
            // had the reader started it, it would have been run (on the one event loop) before this one
            assertThat(plain.modelInfer(request.toBuilder().setId("after the read").build()).getId())
                    .isEqualTo("after the read");
            assertThat(requestsOf("add")).isEqualTo(before + 1);
            assertThat(sample(DEADLINE_OF_UNKNOWN) + sample(QUEUE_FULL_OF_UNKNOWN)).isEqualTo(refusals);
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void aCompressedGrpcMessageWhoseDeadlinePassesWhileItWaitsIsAnsweredThenDeadlineExceededNeverRunAndCountedOnce()
            throws Exception {
        // grpc-java cancels a call at its own deadline: a raw client that does not, so that the server's check is seen
        byte[] message = gzip(largeCompressedAdd().toByteArray());
        Buffer framed = Buffer.buffer().appendByte((byte) 1).appendInt(message.length).appendBytes(message);
        double before = sample(DEADLINE_OF_UNKNOWN);
        double requestsBefore = requestsOf("add");
        HttpClient http2 = Http2Clients.priorKnowledge(vertx);
        try {
            long sent = System.nanoTime();
            var answer = http2.request(new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1")
                            .setPort(io.restassured.RestAssured.port).setURI("/inference.GRPCInferenceService/ModelInfer")
                            .putHeader("content-type", "application/grpc").putHeader("te", "trailers")
                            .putHeader("grpc-encoding", "gzip").putHeader("grpc-timeout", "1000m"))
                    .compose(r -> r.send(framed))
                    .compose(r -> r.body().map(v -> {
                        // in the trailers, or in the headers of a trailers-only answer
                        io.vertx.core.MultiMap status = r.trailers().contains("grpc-status") ? r.trailers() : r.headers();
                        return status.get("grpc-status") + " "
                                + java.net.URLDecoder.decode(String.valueOf(status.get("grpc-message")), StandardCharsets.UTF_8);
                    }))
                    .toCompletionStage().toCompletableFuture();
            awaitReads(1, answer); // read whole, in time: it waits for the reader

            // answered at its deadline while the reader is still held: the server's timer, not the client's cancel
            assertThat(answer.get(30, TimeUnit.SECONDS))
                    .isEqualTo("4 deadline passed while the request message waited to be read"); // DEADLINE_EXCEEDED
            assertThat(System.nanoTime() - sent).isGreaterThanOrEqualTo(1_000_000_000L);
            assertThat(GatedLargeBodies.done.get()).isZero();
            GatedLargeBodies.open.countDown();
            await().atMost(Duration.ofSeconds(30)).until(() -> GatedLargeBodies.done.get() == 1);

            assertThat(sample(DEADLINE_OF_UNKNOWN)).isEqualTo(before + 1); // once, though the reader came after
            // had it been started, it would have run on the one event loop before this plain request
            given().contentType(ContentType.JSON).body(BODY).post("/v2/models/add/infer").then().statusCode(200);
            assertThat(requestsOf("add")).isEqualTo(requestsBefore + 1); // the plain one's alone: never run
        } finally {
            Http2Clients.close(http2);
        }
    }

    @Test
    void aGrpcJavaCallCancelledAtItsDeadlineWhileItsMessageWaitsIsCountedAsThatDeadlineOnce() throws Exception {
        ModelInferRequest request = largeCompressedAdd();
        double before = sample(DEADLINE_OF_UNKNOWN);
        ManagedChannel channel = GrpcClients.channel();
        try {
            var compressed = GRPCInferenceServiceGrpc.newFutureStub(channel).withCompression("gzip")
                    .withDeadlineAfter(1, TimeUnit.SECONDS).modelInfer(request);
            awaitReads(1, compressed);
            // grpc-java cancels at its deadline, about when the server's own timer fires: whichever comes first
            java.util.concurrent.ExecutionException late = org.junit.jupiter.api.Assertions.assertThrows(
                    java.util.concurrent.ExecutionException.class, () -> compressed.get(30, TimeUnit.SECONDS));
            assertThat(io.grpc.Status.fromThrowable(late.getCause()).getCode())
                    .isEqualTo(io.grpc.Status.Code.DEADLINE_EXCEEDED);
            await().atMost(Duration.ofSeconds(30)).until(() -> sample(DEADLINE_OF_UNKNOWN) == before + 1);
            double requests = requestsOf("add");

            GatedLargeBodies.open.countDown();
            await().atMost(Duration.ofSeconds(30)).until(() -> GatedLargeBodies.done.get() == 1);
            GRPCInferenceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
                    .modelInfer(request.toBuilder().setId("after the read").build());
            assertThat(requestsOf("add")).isEqualTo(requests + 1); // the barrier's alone: the late one never ran
            assertThat(sample(DEADLINE_OF_UNKNOWN)).isEqualTo(before + 1);
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /** Runs of {@code model} (batches, one each, warmup's included): {@code sluice_compute_duration_seconds_count}. */
    private static double runsOf(String model) {
        return sample("sluice_compute_duration_seconds_count\\{model=\"" + model + "\"}");
    }

    /** {@code sluice_requests_total} of {@code model}, every outcome and protocol. */
    private static double requestsOf(String model) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                "(?m)^sluice_requests_total\\{model=\"" + model + "\",[^}]*} ([0-9.eE+-]+)")
                .matcher(given().get("/q/metrics").asString());
        double sum = 0;
        while (m.find()) {
            sum += Double.parseDouble(m.group(1));
        }
        return sum;
    }

    /** The first sample whose name and labels {@code series} matches (a regex), 0 if there is none. */
    private static double sample(String series) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^" + series + " ([0-9.eE+-]+)")
                .matcher(given().get("/q/metrics").asString());
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    /** Waits until {@code reads} reads were asked of the readers, saying where {@code call} is if they never are. */
    private static void awaitReads(int reads, java.util.concurrent.Future<?> call) {
        try {
            await().atMost(Duration.ofSeconds(30)).until(() -> GatedLargeBodies.waiting.get() == reads);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("reads asked for: " + GatedLargeBodies.waiting.get() + " of " + reads + "; call: "
                    + call, e);
        }
    }

    /** {@code add} of one row, with an id of random digits that keeps it past 1016 bytes compressed. */
    private static ModelInferRequest largeCompressedAdd() {
        return ModelInferRequest.newBuilder().setModelName("add")
                .setId(new java.math.BigInteger(16_384, new java.util.Random(11)).toString(16))
                .addInputs(GrpcProtocolTest.fp32("A", 1, 2, 3, 4)).addInputs(GrpcProtocolTest.fp32("B", 10, 20, 30, 40))
                .build();
    }

    private static byte[] gzip(String text) {
        return gzip(text.getBytes(StandardCharsets.UTF_8));
    }

    private static byte[] gzip(byte[] bytes) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
