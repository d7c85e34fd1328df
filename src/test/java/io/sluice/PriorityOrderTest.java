package io.sluice;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.config.RestAssuredConfig;
import io.sluice.api.grpc.proto.GRPCInferenceServiceGrpc;
import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.api.grpc.proto.ModelStreamInferResponse;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * End to end, the order in which queued requests reach a model: the highest priority level first (1 is
 * the highest), first come first served within a level, whether the level came as the OIP {@code priority}
 * parameter or the {@code Sluice-Priority} header. While one long request holds the model's only instance,
 * six one-row requests queue one after the other; the moment each left the queue is the end of its
 * {@code sluice.queue} span, found by the trace id each was sent with. Two ask for no level, over gRPC's
 * {@code ModelInfer} and {@code ModelStreamInfer}, and run at their tenant's default ({@code
 * sluice.tenants.anonymous.priority.default}, set in the profile).
 */
@QuarkusTest
@TestProfile(DeadlineAndCancelTest.Profile.class)
class PriorityOrderTest {

    /** The model, set up in {@link DeadlineAndCancelTest.Profile}. */
    static final String MODEL = "ranked";

    /** Rows of the request that holds the instance: seconds of work, against milliseconds to queue the rest. */
    private static final int LONG_ROWS = 4096;

    /** The long request takes seconds, many more on a busy machine; so does each queued behind it. */
    private static final RestAssuredConfig PATIENT = BinaryRest.PATIENT;

    @Inject
    InMemorySpanExporter spans;

    @Test
    void higherLevelsLeaveTheQueueFirstAndEachLevelInArrivalOrder() throws Exception {
        Await.serverReady();
        spans.reset();
        // a thread per blocked caller: the common pool has too few on 3-5 cores for all seven
        ExecutorService callers = Executors.newCachedThreadPool();
        try {
            higherLevelsFirst(callers);
        } finally {
            callers.shutdownNow();
        }
    }

    private void higherLevelsFirst(ExecutorService callers) throws Exception {
        CompletableFuture<Integer> longRun = CompletableFuture.supplyAsync(() -> BinaryRest.post(MODEL,
                List.of(new BinaryRest.Input("X", "FP32", new long[] {LONG_ROWS, 256}, new byte[LONG_ROWS * 256 * 4])),
                PATIENT).statusCode(), callers);
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10))
                .until(() -> gauge("sluice_inflight\\{model=\"" + MODEL + "\"}") == 1);

        // arrival order: a (level 3), b (2), c (2), d (1), then e and f (none: the tenant's default, 2), e over
        // gRPC's ModelInfer and f on a stream; each is queued before the next is sent
        List<Queued> sent = List.of(new Queued("a", 3, Route.REST), new Queued("b", 2, Route.REST_HEADER),
                new Queued("c", 2, Route.REST), new Queued("d", 1, Route.REST_HEADER), new Queued("e", 0, Route.GRPC),
                new Queued("f", 0, Route.GRPC_STREAM));
        List<CompletableFuture<Integer>> answers = new ArrayList<>();
        for (int i = 0; i < sent.size(); i++) {
            answers.add(CompletableFuture.supplyAsync(sent.get(i)::send, callers));
            int depth = i + 1;
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10))
                    .until(() -> gauge("sluice_queue_depth\\{model=\"" + MODEL + "\"}") == depth);
        }
        assertThat(longRun.isDone()).as("the long request still holds the instance").isFalse();

        assertThat(longRun.get(120, TimeUnit.SECONDS)).isEqualTo(200);
        for (CompletableFuture<Integer> answer : answers) {
            assertThat(answer.get(60, TimeUnit.SECONDS)).isEqualTo(200);
        }
        Map<String, Long> leftQueue = sent.stream().collect(Collectors.toMap(q -> q.name,
                q -> awaitQueueSpan(q.traceId()).getEndEpochNanos()));
        List<String> order = leftQueue.entrySet().stream().sorted(Map.Entry.comparingByValue())
                .map(Map.Entry::getKey).toList();
        // without the tenant's default, e and f would run last, at the model's default level (its lowest, 3)
        assertThat(order).containsExactly("d", "b", "c", "e", "f", "a");
    }

    @Test
    void aRequestOfAHigherLevelTakesThePlaceOfTheNewestOfTheLowestWhenTheModelIsFull() throws Exception {
        Await.serverReady();
        ExecutorService callers = Executors.newCachedThreadPool();
        try {
            CompletableFuture<Integer> longRun = CompletableFuture.supplyAsync(() -> BinaryRest.post(MODEL,
                    List.of(new BinaryRest.Input("X", "FP32", new long[] {LONG_ROWS, 256}, new byte[LONG_ROWS * 256 * 4])),
                    PATIENT).statusCode(), callers);
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10))
                    .until(() -> gauge("sluice_inflight\\{model=\"" + MODEL + "\"}") == 1);
            // the model admits 1 running + 8 queued: eight at the lowest level fill it
            List<CompletableFuture<io.restassured.response.Response>> low = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                low.add(CompletableFuture.supplyAsync(() -> oneRow(3, false), callers));
                int depth = i + 1;
                await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10))
                        .until(() -> gauge("sluice_queue_depth\\{model=\"" + MODEL + "\"}") == depth);
            }
            // (another at level 3 would be turned away; the model does not shed, so nothing else is cut)
            // level 1, by the header: the newest of level 3 is answered 503 at once, and this one queued in its place
            CompletableFuture<io.restassured.response.Response> high = CompletableFuture.supplyAsync(
                    () -> oneRow(1, true), callers);
            io.restassured.response.Response displaced = low.get(7).get(60, TimeUnit.SECONDS);
            assertThat(displaced.statusCode()).isEqualTo(503);
            assertThat(displaced.jsonPath().getString("error")).isEqualTo("model '" + MODEL + "' is at capacity (9"
                    + " requests admitted): a request of a higher priority level took this one's place");
            assertThat(displaced.header("Retry-After")).isNotNull();
            assertThat(longRun.isDone()).as("the long request still holds the instance").isFalse();

            assertThat(longRun.get(120, TimeUnit.SECONDS)).isEqualTo(200);
            assertThat(high.get(60, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
            for (CompletableFuture<io.restassured.response.Response> served : low.subList(0, 7)) {
                assertThat(served.get(60, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
            }
        } finally {
            callers.shutdownNow();
        }
    }

    /** One row at {@code level}, asked for by the OIP parameter or, with {@code header}, by {@code Sluice-Priority}. */
    private static io.restassured.response.Response oneRow(int level, boolean header) {
        String zeros = IntStream.range(0, 256).mapToObj(i -> "0").collect(Collectors.joining(","));
        var request = given().config(PATIENT).contentType("application/json")
                .body("{" + (header ? "" : "\"parameters\":{\"priority\":" + level + "},")
                        + "\"inputs\":[{\"name\":\"X\",\"datatype\":\"FP32\",\"shape\":[1,256],\"data\":[" + zeros + "]}]}");
        if (header) {
            request = request.header("Sluice-Priority", Integer.toString(level));
        }
        return request.post("/v2/models/" + MODEL + "/infer");
    }

    /** How a request is sent: its level as the OIP parameter or the header over REST; over gRPC, none. */
    private enum Route { REST, REST_HEADER, GRPC, GRPC_STREAM }

    /** A one-row request at {@code level} (0: none asked), sent by {@code route}, in a trace of its own. */
    private record Queued(String name, int level, Route route) {

        /** A 32-hex-digit trace id of this request's own, ending in its letter's code. */
        String traceId() {
            return "4bf92f3577b34da6a3ce929d0e0e47" + String.format("%02x", (int) name.charAt(0));
        }

        int send() {
            if (route == Route.GRPC || route == Route.GRPC_STREAM) {
                return sendGrpc();
            }
            boolean header = route == Route.REST_HEADER;
            String zeros = IntStream.range(0, 256).mapToObj(i -> "0").collect(Collectors.joining(","));
            String parameters = header || level == 0 ? "" : "\"parameters\":{\"priority\":" + level + "},";
            var request = given().config(PATIENT).header("traceparent", "00-" + traceId() + "-b7ad6b7169203331-01")
                    .contentType("application/json")
                    .body("{" + parameters + "\"inputs\":[{\"name\":\"X\",\"datatype\":\"FP32\",\"shape\":[1,256],"
                            + "\"data\":[" + zeros + "]}]}");
            if (header) {
                request = request.header("Sluice-Priority", Integer.toString(level));
            }
            return request.post("/v2/models/" + MODEL + "/infer").statusCode();
        }

        /** The same row over gRPC, unary or alone on a stream, asking for no level; 200 once answered. */
        int sendGrpc() {
            Metadata headers = new Metadata();
            headers.put(Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER),
                    "00-" + traceId() + "-b7ad6b7169203331-01");
            ManagedChannel channel = GrpcClients.channel();
            ModelInferRequest row = DeadlineAndCancelTest.oneRow().toBuilder().setModelName(MODEL).build();
            try {
                if (route == Route.GRPC) {
                    GRPCInferenceServiceGrpc.newBlockingStub(channel)
                            .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                            .withDeadlineAfter(120, TimeUnit.SECONDS).modelInfer(row);
                    return 200;
                }
                CompletableFuture<ModelStreamInferResponse> answer = new CompletableFuture<>();
                StreamObserver<ModelInferRequest> stream = GRPCInferenceServiceGrpc.newStub(channel)
                        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                        .withDeadlineAfter(120, TimeUnit.SECONDS).modelStreamInfer(new StreamObserver<>() {
                            @Override
                            public void onNext(ModelStreamInferResponse r) {
                                answer.complete(r);
                            }

                            @Override
                            public void onError(Throwable t) {
                                answer.completeExceptionally(t);
                            }

                            @Override
                            public void onCompleted() {
                                answer.completeExceptionally(new IllegalStateException("the stream ended unanswered"));
                            }
                        });
                stream.onNext(row);
                stream.onCompleted();
                return answer.get(120, TimeUnit.SECONDS).getErrorMessage().isEmpty() ? 200 : 500;
            } catch (InterruptedException | ExecutionException | TimeoutException e) {
                throw new IllegalStateException(e);
            } finally {
                channel.shutdownNow();
            }
        }
    }

    private SpanData awaitQueueSpan(String traceId) {
        return await().atMost(Duration.ofSeconds(10)).until(() -> spans.getFinishedSpanItems().stream()
                .filter(s -> s.getName().equals("sluice.queue") && s.getTraceId().equals(traceId))
                .min(Comparator.comparingLong(SpanData::getEndEpochNanos)).orElse(null), s -> s != null);
    }

    private static double gauge(String nameAndTags) {
        return BatchingTest.metric(given().get("/q/metrics").asString(), nameAndTags);
    }
}
