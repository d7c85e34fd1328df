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
 * many waiting, a 503. The readers are the real ones, each task held at a gate the test opens.
 */
@QuarkusTest
@TestProfile(LargeBodyReadTest.Profile.class)
class LargeBodyReadTest {

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

        @Override
        public Executor executor() {
            Executor readers = super.executor();
            return task -> {
                waiting.incrementAndGet();
                CountDownLatch gate = open;
                readers.execute(() -> {
                    try {
                        if (gate.await(60, TimeUnit.SECONDS)) {
                            task.run();
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
            };
        }
    }

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
    void pastTheReadersAndAsManyWaitingACompressedGrpcMessageIsTurnedAwayUnavailableAndCountedSo() throws Exception {
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
            double before = queueFullOfUnknown();

            io.grpc.StatusRuntimeException refused = org.junit.jupiter.api.Assertions.assertThrows(
                    io.grpc.StatusRuntimeException.class, () -> GRPCInferenceServiceGrpc.newBlockingStub(channel)
                            .withCompression("gzip").withDeadlineAfter(30, TimeUnit.SECONDS).modelInfer(request));
            assertThat(refused.getStatus().getCode()).isEqualTo(io.grpc.Status.Code.UNAVAILABLE);
            assertThat(refused.getStatus().getDescription()).contains("large request bodies");
            // the server's load, not the client's mistake: a queue_full rejection, as a full model's
            assertThat(queueFullOfUnknown()).isEqualTo(before + 1);

            GatedLargeBodies.open.countDown();
            for (var answer : List.of(first, second)) {
                assertThat(GrpcProtocolTest.floats(answer.get(60, TimeUnit.SECONDS).getRawOutputContents(0)))
                        .containsExactly(11, 22, 33, 44);
            }
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
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

    /** {@code sluice_rejections_total{model="_unknown",reason="queue_full"}}, 0 if not there. */
    private static double queueFullOfUnknown() {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                "(?m)^sluice_rejections_total\\{model=\"_unknown\",reason=\"queue_full\"} ([0-9.eE+-]+)")
                .matcher(given().get("/q/metrics").asString());
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    private static byte[] gzip(String text) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(text.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
