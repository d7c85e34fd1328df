package io.sluice.observability;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.LinkData;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.sluice.Await;
import io.sluice.GrpcClients;
import io.sluice.TinyRepositoryResource;
import io.sluice.api.grpc.proto.GRPCInferenceServiceGrpc;
import io.sluice.api.grpc.proto.ModelInferRequest;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The span tree of a request, its link to the batch that ran it, and W3C context on REST and gRPC. */
@QuarkusTest
@QuarkusTestResource(TinyRepositoryResource.class)
class TracingTest {

    @Inject
    InMemorySpanExporter spans;

    @BeforeEach
    void ready() {
        Await.serverReady();
        spans.reset();
    }

    @Test
    void restRequestSpansJoinTheCallersTraceAndLinkToTheirBatch() {
        String traceId = "0af7651916cd43dd8448eb211c80319c";
        inferMatmul(traceId, "01", 1);

        SpanData infer = awaitSpan("sluice.infer", traceId);
        SpanData admission = awaitSpan("sluice.admission", traceId);
        SpanData queue = awaitSpan("sluice.queue", traceId);
        assertThat(admission.getParentSpanId()).isEqualTo(infer.getSpanId());
        assertThat(queue.getParentSpanId()).isEqualTo(infer.getSpanId());
        assertThat(infer.getAttributes().get(Tracing.MODEL)).isEqualTo("matmul");
        assertThat(infer.getAttributes().get(Tracing.VERSION)).isEqualTo("1");
        assertThat(infer.getAttributes().get(Tracing.BATCH_ROWS)).isEqualTo(1L);

        SpanData batch = await().atMost(Duration.ofSeconds(10)).until(() -> spans.getFinishedSpanItems().stream()
                .filter(s -> s.getName().equals("sluice.batch"))
                .filter(s -> s.getLinks().stream().map(LinkData::getSpanContext)
                        .anyMatch(c -> c.getSpanId().equals(infer.getSpanId())))
                .findFirst().orElse(null), s -> s != null);
        assertThat(infer.getLinks()).extracting(l -> l.getSpanContext().getSpanId()).contains(batch.getSpanId());
        assertThat(batch.getAttributes().get(Tracing.BATCH_ROWS)).isEqualTo(1L);
        SpanData run = await().atMost(Duration.ofSeconds(10)).until(() -> spans.getFinishedSpanItems().stream()
                .filter(s -> s.getName().equals("onnx.run") && s.getParentSpanId().equals(batch.getSpanId()))
                .findFirst().orElse(null), s -> s != null);
        assertThat(run.getTraceId()).isEqualTo(batch.getTraceId());
    }

    @Test
    void aBatchOfRequestsWhoseCallersKeepNoTraceStartsNone() {
        String unsampled = "1af7651916cd43dd8448eb211c80319c";
        inferMatmul(unsampled, "00", 1);
        String sampled = "2af7651916cd43dd8448eb211c80319c";
        inferMatmul(sampled, "01", 2);
        SpanData infer = awaitSpan("sluice.infer", sampled);
        // spans are exported in the order they end: the first request's batch, had it one, would be here by now
        await().atMost(Duration.ofSeconds(10)).until(() -> spans.getFinishedSpanItems().stream()
                .anyMatch(s -> s.getName().equals("sluice.batch")));
        assertThat(spans.getFinishedSpanItems()).filteredOn(s -> s.getName().equals("sluice.batch"))
                .singleElement().satisfies(batch -> assertThat(batch.getLinks())
                        .extracting(l -> l.getSpanContext().getSpanId()).containsExactly(infer.getSpanId()));
        assertThat(spans.getFinishedSpanItems()).noneMatch(s -> s.getTraceId().equals(unsampled));
    }

    @Test
    void aCompressedRequestReadOffTheEventLoopStaysInItsCallersTrace() throws java.io.IOException {
        // a compressed body that could inflate past 256 KiB is read on a body reader (LargeBodies), not the event
        // loop: the trace goes with it. An id of random digits keeps it past 255 bytes compressed.
        String traceId = "5af7651916cd43dd8448eb211c80319c";
        String id = new java.math.BigInteger(2048, new java.util.Random(7)).toString(16);
        java.io.ByteArrayOutputStream gzipped = new java.io.ByteArrayOutputStream();
        try (java.util.zip.GZIPOutputStream gz = new java.util.zip.GZIPOutputStream(gzipped)) {
            gz.write(("{\"id\":\"" + id + "\",\"inputs\":[{\"name\":\"X\",\"datatype\":\"FP32\",\"shape\":[1,3],"
                    + "\"data\":[1,1,1]}]}").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        assertThat(gzipped.size()).isGreaterThan(255);
        given().header("traceparent", "00-" + traceId + "-b7ad6b7169203331-01").header("Content-Encoding", "gzip")
                .contentType("application/json").body(gzipped.toByteArray())
                .post("/v2/models/matmul/infer").then().statusCode(200);
        assertInferSpansUnderTheServerSpan(traceId);
    }

    /** One row of {@code value}s to matmul over REST, in the trace {@code traceId}, sampled when {@code flags} is 01. */
    private static void inferMatmul(String traceId, String flags, int value) {
        given().header("traceparent", "00-" + traceId + "-b7ad6b7169203331-" + flags).contentType("application/json")
                .body("{\"inputs\":[{\"name\":\"X\",\"datatype\":\"FP32\",\"shape\":[1,3],\"data\":["
                        + value + "," + value + "," + value + "]}]}")
                .post("/v2/models/matmul/infer").then().statusCode(200);
    }

    @Test
    void aTinyModelsLoneRequestRunsOnTheEventLoopThatReceivedItAndItsBatchSaysSo() {
        // matmul's threads.event-loop-run-max-micros is 1000 here (TinyRepositoryResource): once its recent runs say
        // it takes less (its first run, in warmup, took milliseconds), an idle matmul's request runs on the event loop
        List<String> threads = new java.util.ArrayList<>();
        for (int i = 0; i < 50 && threads.stream().noneMatch(t -> t.startsWith("vert.x-eventloop-thread-")); i++) {
            spans.reset();
            given().contentType("application/json")
                    .body("{\"inputs\":[{\"name\":\"X\",\"datatype\":\"FP32\",\"shape\":[1,3],\"data\":[1,1,1]}]}")
                    .post("/v2/models/matmul/infer").then().statusCode(200);
            SpanData batch = await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(2))
                    .until(() -> spans.getFinishedSpanItems().stream()
                            .filter(s -> s.getName().equals("sluice.batch")).findFirst().orElse(null), s -> s != null);
            threads.add(batch.getAttributes().get(Tracing.THREAD_NAME));
        }
        assertThat(threads).last().asString().startsWith("vert.x-eventloop-thread-");
        // every other run was an instance's
        assertThat(threads.subList(0, threads.size() - 1)).allMatch(t -> t.startsWith("sluice-run-matmul-"));
    }

    @Test
    void aRunStartedOnAnotherThreadJoinsTheTraceItIsGiven() {
        // the response cache starts a follower's run on whatever thread failed the shared run under it, where the
        // current context is not the request's: the request's context is handed over, and its spans follow it
        io.opentelemetry.api.trace.Span caller = tracer.spanBuilder("caller").startSpan();
        String traceId = caller.getSpanContext().getTraceId();
        io.opentelemetry.context.Context trace = io.opentelemetry.context.Context.root().with(caller);
        io.sluice.inference.Tensor x = new io.sluice.inference.Tensor("X", io.sluice.inference.Datatype.FP32,
                new long[] {1, 3}, java.nio.ByteBuffer.allocate(12).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                        .putFloat(1).putFloat(1).putFloat(1).flip());
        io.sluice.inference.InferRequest request = new io.sluice.inference.InferRequest("matmul", null, null,
                java.util.Map.of(), List.of(x), List.of(), 0, io.sluice.inference.InferRequest.NO_DEADLINE,
                io.sluice.inference.Protocol.REST);
        // this thread's current context is the root: only the context handed over can parent the spans
        assertThat(io.opentelemetry.api.trace.Span.current().getSpanContext().isValid()).isFalse();
        assertThat(registry.ready("matmul", null).infer(request, trace).await().atMost(Duration.ofSeconds(10))
                .outputs()).hasSize(1);
        caller.end();

        SpanData infer = awaitSpan("sluice.infer", traceId);
        assertThat(infer.getParentSpanId()).isEqualTo(caller.getSpanContext().getSpanId());
        assertThat(awaitSpan("sluice.admission", traceId).getParentSpanId()).isEqualTo(infer.getSpanId());
    }

    @Inject
    io.opentelemetry.api.trace.Tracer tracer;

    @Inject
    io.sluice.model.ModelRegistry registry;

    @Test
    void grpcAcceptsW3cTraceContext() throws InterruptedException {
        String traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        matmulOverGrpc(traceId, ModelInferRequest.newBuilder(), null);
        assertThat(awaitSpan("sluice.infer", traceId).getAttributes().get(Tracing.MODEL)).isEqualTo("matmul");
    }

    @Test
    void aCompressedGrpcMessageReadOffTheEventLoopStaysInItsCallersTrace() throws InterruptedException {
        // a compressed message that could inflate past 1 MiB is read on a body reader (LargeBodies): the trace goes
        // with it. An id of random digits keeps it past 1016 bytes compressed.
        String traceId = "0af7651916cd43dd8448eb211c80319d";
        matmulOverGrpc(traceId, ModelInferRequest.newBuilder()
                .setId(new java.math.BigInteger(16_384, new java.util.Random(7)).toString(16)), "gzip");
        assertInferSpansUnderTheServerSpan(traceId);
    }

    @Test
    void aStreamRequestIsInItsCallersTrace() throws Exception {
        String traceId = "5cf92f3577b34da6a3ce929d0e0e4737";
        Metadata headers = new Metadata();
        headers.put(Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER), "00-" + traceId + "-00f067aa0ba902b7-01");
        ManagedChannel channel = GrpcClients.channel();
        try {
            java.util.concurrent.CompletableFuture<Void> ended = new java.util.concurrent.CompletableFuture<>();
            var requests = GRPCInferenceServiceGrpc.newStub(channel)
                    .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                    .withDeadlineAfter(30, TimeUnit.SECONDS)
                    .modelStreamInfer(new io.grpc.stub.StreamObserver<>() {
                        @Override
                        public void onNext(io.sluice.api.grpc.proto.ModelStreamInferResponse answer) {}

                        @Override
                        public void onError(Throwable t) {
                            ended.completeExceptionally(t);
                        }

                        @Override
                        public void onCompleted() {
                            ended.complete(null);
                        }
                    });
            requests.onNext(ModelInferRequest.newBuilder().setModelName("matmul")
                    .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("X").setDatatype("FP32")
                            .addShape(1).addShape(3))
                    .addRawInputContents(ByteString.copyFrom(new byte[12])).build());
            requests.onCompleted();
            ended.get(30, TimeUnit.SECONDS);
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        assertInferSpansUnderTheServerSpan(traceId);
    }

    /** One row of zeros to matmul over gRPC, in the trace {@code traceId}, {@code compression} (or none) on the call. */
    private static void matmulOverGrpc(String traceId, ModelInferRequest.Builder request, String compression)
            throws InterruptedException {
        Metadata headers = new Metadata();
        headers.put(Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER), "00-" + traceId + "-00f067aa0ba902b7-01");
        ManagedChannel channel = GrpcClients.channel();
        try {
            var stub = GRPCInferenceServiceGrpc.newBlockingStub(channel)
                    .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                    .withDeadlineAfter(30, TimeUnit.SECONDS);
            (compression == null ? stub : stub.withCompression(compression)).modelInfer(request.setModelName("matmul")
                    .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("X").setDatatype("FP32")
                            .addShape(1).addShape(3))
                    .addRawInputContents(ByteString.copyFrom(new byte[12])).build());
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /** The request's {@code sluice.infer} span is a child of the server's span, and its admission of it. */
    private void assertInferSpansUnderTheServerSpan(String traceId) {
        SpanData infer = awaitSpan("sluice.infer", traceId);
        SpanData server = await().atMost(Duration.ofSeconds(10)).until(() -> spans.getFinishedSpanItems().stream()
                .filter(s -> s.getTraceId().equals(traceId) && s.getKind() == io.opentelemetry.api.trace.SpanKind.SERVER)
                .findFirst().orElse(null), s -> s != null);
        assertThat(infer.getParentSpanId()).isEqualTo(server.getSpanId());
        assertThat(awaitSpan("sluice.admission", traceId).getParentSpanId()).isEqualTo(infer.getSpanId());
    }

    private SpanData awaitSpan(String name, String traceId) {
        try {
            return await().atMost(Duration.ofSeconds(10)).until(() -> find(spans.getFinishedSpanItems(), name, traceId), s -> s != null);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("no " + name + " in trace " + traceId + "; finished: " + spans.getFinishedSpanItems().stream()
                    .map(x -> x.getName() + ":" + x.getTraceId() + ":" + x.getParentSpanId()).toList(), e);
        }
    }

    private static SpanData find(List<SpanData> all, String name, String traceId) {
        return all.stream().filter(s -> s.getName().equals(name) && s.getTraceId().equals(traceId)).findFirst().orElse(null);
    }
}
