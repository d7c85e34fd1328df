package io.sluice;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.sluice.api.grpc.proto.GRPCInferenceServiceGrpc;
import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.api.grpc.proto.ModelInferResponse;
import io.sluice.api.grpc.proto.ModelStreamInferResponse;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import jakarta.inject.Inject;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * ModelInfer and ModelStreamInfer as they arrive on the wire, sent with a bare HTTP/2 client, so that what the
 * server writes (headers, framing, trailers) is seen as it is, and what reaches Quarkus's gRPC bridge. Every other gRPC test (protocol, errors, deadlines, cancellation, overload, rate
 * limits, tracing) goes through the direct route with a grpc-java client; {@link GrpcBridgeProtocolTest}
 * runs the protocol tests through the bridge as well.
 */
@QuarkusTest
@QuarkusTestResource(TinyRepositoryResource.class)
class GrpcDirectInferTest {
    private static final String PATH = "/inference.GRPCInferenceService/ModelInfer";
    private static final String STREAM = "/inference.GRPCInferenceService/ModelStreamInfer";
    /** One row of ones to matmul, raw; {@link StreamDeadlineTest} sends it too. */
    static final ModelInferRequest MATMUL = ModelInferRequest.newBuilder().setModelName("matmul")
            .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("X").setDatatype("FP32").addShape(1).addShape(3))
            .addRawInputContents(GrpcProtocolTest.rawFloats(1, 1, 1))
            .build();

    @Inject
    Vertx vertx;

    private HttpClient http2;

    @BeforeEach
    void connect() {
        Await.serverReady();
        http2 = Http2Clients.priorKnowledge(vertx);
    }

    @AfterEach
    void close() throws Exception {
        Http2Clients.close(http2);
    }

    /** The answer's status line, headers, body and trailers. */
    private record Answer(int http, MultiMap headers, Buffer body, MultiMap trailers) {
        String grpcStatus() { // in the trailers, or in the headers of a trailers-only answer
            String s = trailers.get("grpc-status");
            return s != null ? s : headers.get("grpc-status");
        }
    }

    private Answer post(Buffer body) throws Exception {
        return post(body, Map.of());
    }

    /** {@code body} with the headers a grpc-java client sends, a 30 s timeout, and {@code headers} over them. */
    private Answer post(Buffer body, Map<String, String> headers) throws Exception {
        return post(PATH, body, headers);
    }

    private Answer post(String path, Buffer body, Map<String, String> headers) throws Exception {
        RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST)
                .setHost("127.0.0.1").setPort(RestAssured.port).setURI(path)
                .putHeader("content-type", "application/grpc").putHeader("te", "trailers")
                .putHeader("grpc-timeout", "30S");
        headers.forEach(options::putHeader);
        return http2.request(options)
                .compose(r -> r.send(body))
                .compose(r -> r.body().map(read -> new Answer(r.statusCode(), r.headers(), read, r.trailers())))
                .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    /** A stream that compresses into the given one. */
    private interface Compressor {
        java.io.OutputStream wrap(java.io.OutputStream out) throws java.io.IOException;
    }

    /** {@code MATMUL} compressed by {@code compressor} and framed with the compressed flag. */
    private static Buffer compressed(Compressor compressor) throws java.io.IOException {
        java.io.ByteArrayOutputStream zipped = new java.io.ByteArrayOutputStream();
        try (java.io.OutputStream out = compressor.wrap(zipped)) {
            out.write(MATMUL.toByteArray());
        }
        return Buffer.buffer().appendByte((byte) 1).appendInt(zipped.size()).appendBytes(zipped.toByteArray());
    }

    private static Buffer framed(byte[] message) {
        return Buffer.buffer().appendByte((byte) 0).appendInt(message.length).appendBytes(message);
    }

    @Test
    void anAnswerIsOneFramedMessageThenTheStatusInTheTrailers() throws Exception {
        Answer a = post(framed(MATMUL.toByteArray()));

        assertThat(a.http()).isEqualTo(200);
        assertThat(a.headers().get("content-type")).isEqualTo("application/grpc");
        assertThat(a.trailers().get("grpc-status")).isEqualTo("0");
        assertThat(a.body().getByte(0)).isZero();
        assertThat(a.body().getUnsignedInt(1)).isEqualTo(a.body().length() - 5L);
        ModelInferResponse r = ModelInferResponse.parseFrom(a.body().getBytes(5, a.body().length()));
        assertThat(r.getModelName()).isEqualTo("matmul");
        assertThat(GrpcProtocolTest.floats(r.getRawOutputContents(0))).containsExactly(9, 12);
    }

    @Test
    void aMessageThatIsNotAModelInferRequestIsInvalidArgumentAndSaysSo() throws Exception {
        double before = GrpcProtocolTest.unreadRefusals();
        Answer a = post(framed(new byte[] {(byte) 0xff, 0x7f, 0}));

        assertThat(a.http()).isEqualTo(200);
        assertThat(a.grpcStatus()).isEqualTo("3"); // INVALID_ARGUMENT, trailers-only
        assertThat(a.headers().get("grpc-message")).startsWith("request is not a ModelInferRequest");
        assertThat(a.body().length()).isZero();
        assertThat(GrpcProtocolTest.unreadRefusals()).isEqualTo(before + 1);
    }

    @Test
    void brokenFramingIsAProtocolErrorThatNamesWhatIsWrong() throws Exception {
        Buffer one = framed(MATMUL.toByteArray());
        Answer twoMessages = post(one.copy().appendBuffer(one));
        Answer cutShort = post(one.getBuffer(0, one.length() - 2));
        Answer none = post(Buffer.buffer());

        assertThat(twoMessages.grpcStatus()).isEqualTo("13"); // INTERNAL, as grpc-java's server answers these
        assertThat(twoMessages.headers().get("grpc-message")).isEqualTo("more than one request message in a unary call");
        assertThat(cutShort.headers().get("grpc-message")).isEqualTo("request message cut short");
        assertThat(none.headers().get("grpc-message")).isEqualTo("no request message");
    }

    @Test
    void aGzipCallIsReadHereSoItsDeadlineHolds() throws Exception {
        Buffer body = compressed(java.util.zip.GZIPOutputStream::new);

        Answer answered = post(body, Map.of("grpc-encoding", "gzip"));
        // read on this route, its deadline as well (the bridge has its own reading of it, CallDeadline)
        Answer late = post(body, Map.of("grpc-encoding", "gzip", "grpc-timeout", "1n"));

        assertThat(answered.trailers().get("grpc-status")).isEqualTo("0");
        ModelInferResponse r = ModelInferResponse.parseFrom(answered.body().getBytes(5, answered.body().length()));
        assertThat(GrpcProtocolTest.floats(r.getRawOutputContents(0))).containsExactly(9, 12);
        assertThat(late.grpcStatus()).isEqualTo("4"); // DEADLINE_EXCEEDED
    }

    @Test
    void aDeflateCallAsTritonclientSendsItIsAnswered() throws Exception {
        // tritonclient.grpc's compression_algorithm="deflate": grpc-core's deflate, zlib's format
        Buffer body = compressed(java.util.zip.DeflaterOutputStream::new);

        Answer answered = post(body, Map.of("grpc-encoding", "deflate"));

        assertThat(answered.trailers().get("grpc-status")).isEqualTo("0");
        ModelInferResponse r = ModelInferResponse.parseFrom(answered.body().getBytes(5, answered.body().length()));
        assertThat(GrpcProtocolTest.floats(r.getRawOutputContents(0))).containsExactly(9, 12);
    }

    @Test
    void anEncodingNoRouteCanReadIsUnimplementedNotAHang() throws Exception {
        Buffer plain = framed(MATMUL.toByteArray());
        Answer stream = post(STREAM, plain, Map.of("grpc-encoding", "snappy"));
        Answer snappy = post(plain, Map.of("grpc-encoding", "snappy"));

        for (Answer a : List.of(stream, snappy)) {
            assertThat(a.grpcStatus()).isEqualTo("12"); // UNIMPLEMENTED, as the gRPC protocol has it
            assertThat(a.headers().get("grpc-accept-encoding")).isEqualTo("gzip,deflate");
        }
        assertThat(java.net.URLDecoder.decode(stream.headers().get("grpc-message"), java.nio.charset.StandardCharsets.UTF_8))
                .isEqualTo("grpc-encoding 'snappy' is not supported on /inference.GRPCInferenceService/ModelStreamInfer;"
                        + " it reads gzip, deflate and identity");
        assertThat(snappy.headers().get("grpc-message")).contains("snappy");
        Answer longOne = post(plain, Map.of("grpc-encoding", "z".repeat(3_000)));
        assertThat(java.net.URLDecoder.decode(longOne.headers().get("grpc-message"), java.nio.charset.StandardCharsets.UTF_8))
                .startsWith("grpc-encoding '" + "z".repeat(64) + "\u2026 (3000 characters)' is not supported on ");
        // another method, which only the bridge serves, reads what the bridge reads
        Answer metadata = post("/inference.GRPCInferenceService/ServerLive", framed(new byte[0]), Map.of("grpc-encoding", "deflate"));
        assertThat(metadata.grpcStatus()).isEqualTo("12");
        assertThat(metadata.headers().get("grpc-accept-encoding")).isEqualTo("gzip");
    }

    /** {@code MATMUL} with the id {@code id}, framed. */
    private static Buffer matmul(String id) {
        return framed(MATMUL.toBuilder().setId(id).build().toByteArray());
    }

    /** The messages of a stream's answer, in order. */
    private static List<ModelStreamInferResponse> messages(Answer a) throws Exception {
        List<ModelStreamInferResponse> messages = new java.util.ArrayList<>();
        Buffer body = a.body();
        for (int at = 0; at < body.length(); ) {
            assertThat(body.getByte(at)).as("an answer is never compressed").isZero();
            int size = (int) body.getUnsignedInt(at + 1);
            messages.add(ModelStreamInferResponse.parseFrom(body.getBytes(at + 5, at + 5 + size)));
            at += 5 + size;
        }
        return messages;
    }

    /** The status message of {@code a}, decoded. */
    private static String grpcMessage(Answer a) {
        String m = a.trailers().get("grpc-message") != null ? a.trailers().get("grpc-message") : a.headers().get("grpc-message");
        return java.net.URLDecoder.decode(m, java.nio.charset.StandardCharsets.UTF_8);
    }

    @Test
    void aStreamIsItsAnswersFramedInOrderThenItsStatusInTheTrailers() throws Exception {
        Answer a = post(STREAM, matmul("one").appendBuffer(matmul("two")), Map.of());

        assertThat(a.http()).isEqualTo(200);
        assertThat(a.headers().get("content-type")).isEqualTo("application/grpc");
        assertThat(a.trailers().get("grpc-status")).isEqualTo("0");
        List<ModelStreamInferResponse> answers = messages(a);
        assertThat(answers).extracting(m -> m.getInferResponse().getId()).containsExactly("one", "two");
        assertThat(GrpcProtocolTest.floats(answers.get(1).getInferResponse().getRawOutputContents(0))).containsExactly(9, 12);
        // a stream the client ends at once, with no request: OK, trailers-only
        Answer empty = post(STREAM, Buffer.buffer(), Map.of());
        assertThat(empty.grpcStatus()).isEqualTo("0");
        assertThat(empty.body().length()).isZero();
    }

    @Test
    void aStreamMessageThatDoesNotInflateEndsTheStreamNamingWhyOnceTheRequestsBeforeItAreAnswered() throws Exception {
        double before = GrpcProtocolTest.unreadRefusals();
        byte[] notGzip = "not gzip at all".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        Buffer body = compressed(java.util.zip.GZIPOutputStream::new)
                .appendByte((byte) 1).appendInt(notGzip.length).appendBytes(notGzip) // flagged compressed: the bridge lost it
                .appendBuffer(matmul("after")); // never read

        Answer a = post(STREAM, body, Map.of("grpc-encoding", "gzip"));

        assertThat(messages(a)).hasSize(1);
        assertThat(messages(a).get(0).getErrorMessage()).isEmpty();
        assertThat(a.trailers().get("grpc-status")).isEqualTo("13"); // INTERNAL, as ModelInfer answers it
        assertThat(grpcMessage(a)).isEqualTo("gzip request message does not inflate: Not in GZIP format");
        assertThat(GrpcProtocolTest.unreadRefusals()).isEqualTo(before + 1);
    }

    @Test
    void brokenFramingOnAStreamEndsItNamingWhatIsWrong() throws Exception {
        Buffer one = matmul("one");
        Answer flaggedWithoutEncoding = post(STREAM, one.copy().appendBuffer(compressed(java.util.zip.GZIPOutputStream::new)),
                Map.of());
        Answer cutShort = post(STREAM, one.copy().appendBuffer(one.getBuffer(0, one.length() - 2)), Map.of());
        Answer prefixCut = post(STREAM, one.copy().appendBuffer(one.getBuffer(0, 3)), Map.of());
        Buffer reserved = one.copy();
        reserved.setByte(0, (byte) 2);
        Answer reservedBits = post(STREAM, reserved, Map.of());

        for (Answer a : List.of(flaggedWithoutEncoding, cutShort, prefixCut, reservedBits)) {
            assertThat(a.grpcStatus()).isEqualTo("13");
        }
        assertThat(grpcMessage(flaggedWithoutEncoding)).isEqualTo("compressed message without a grpc-encoding");
        assertThat(grpcMessage(cutShort)).isEqualTo("request message cut short");
        assertThat(grpcMessage(prefixCut)).isEqualTo("incomplete message prefix");
        assertThat(grpcMessage(reservedBits)).isEqualTo("message prefix flag 2 has reserved bits set");
        // the whole message before each is answered first
        for (Answer a : List.of(flaggedWithoutEncoding, cutShort, prefixCut)) {
            assertThat(messages(a)).extracting(m -> m.getInferResponse().getId()).containsExactly("one");
        }
        assertThat(reservedBits.body().length()).isZero();
    }

    @Test
    void aDeflateStreamAsTritonclientSendsItIsAnswered() throws Exception {
        // tritonclient's start_stream(compression_algorithm="deflate"): the bridge read none of it and never answered
        Buffer deflated = compressed(java.util.zip.DeflaterOutputStream::new);
        Answer a = post(STREAM, deflated.copy().appendBuffer(deflated), Map.of("grpc-encoding", "deflate"));

        assertThat(a.trailers().get("grpc-status")).isEqualTo("0");
        assertThat(messages(a)).hasSize(2).allSatisfy(m -> assertThat(
                GrpcProtocolTest.floats(m.getInferResponse().getRawOutputContents(0))).containsExactly(9, 12));
    }

    @Test
    void aStreamMessageDeclaredOverTheLimitIsRefusedFromItsPrefix() throws Exception {
        double before = GrpcProtocolTest.unreadRefusals();
        Answer a = post(STREAM, matmul("one").appendByte((byte) 0).appendInt(1 << 30).appendBytes(new byte[16]), Map.of());

        assertThat(messages(a)).extracting(m -> m.getInferResponse().getId()).containsExactly("one");
        assertThat(a.trailers().get("grpc-status")).isEqualTo("8"); // RESOURCE_EXHAUSTED
        assertThat(grpcMessage(a)).startsWith("1073741824-byte request message is larger than the server's limit");
        assertThat(GrpcProtocolTest.unreadRefusals()).isEqualTo(before + 1);
    }

    @Test
    void aTimeoutThatIsNotOneIsRefusedNamingIt() throws Exception {
        Buffer plain = framed(MATMUL.toByteArray());
        // refused on this route, as CallDeadline refuses it on the bridge; with deflate too, which the bridge cannot
        // read, so that the client is told about its timeout, not about an encoding this method reads
        for (Answer a : List.of(post(plain, Map.of("grpc-timeout", "5x")),
                post(compressed(java.util.zip.DeflaterOutputStream::new), Map.of("grpc-timeout", "5s",
                        "grpc-encoding", "deflate")))) {
            assertThat(a.grpcStatus()).isEqualTo("3"); // INVALID_ARGUMENT
            String message = a.headers().get("grpc-message") != null ? a.headers().get("grpc-message") : a.trailers().get("grpc-message");
            // percent-encoded, as the gRPC spec has it
            assertThat(java.net.URLDecoder.decode(message, java.nio.charset.StandardCharsets.UTF_8))
                    .matches("grpc-timeout '5[xs]' is not a gRPC timeout .*");
        }
        // a long header is quoted as any client value is: its first 64 characters and its length (it came back whole)
        Answer longOne = post(plain, Map.of("grpc-timeout", "9".repeat(3_000) + "S"));
        assertThat(longOne.grpcStatus()).isEqualTo("3");
        String message = longOne.headers().get("grpc-message") != null ? longOne.headers().get("grpc-message")
                : longOne.trailers().get("grpc-message");
        assertThat(java.net.URLDecoder.decode(message, java.nio.charset.StandardCharsets.UTF_8))
                .startsWith("grpc-timeout '" + "9".repeat(64) + "\u2026 (3001 characters)' is not a gRPC timeout");
    }

    @Test
    void aCallWhoseMessageStopsComingIsAnsweredAtItsDeadline() throws Exception {
        io.vertx.core.http.HttpClientRequest request = http2.request(new RequestOptions().setMethod(HttpMethod.POST)
                        .setHost("127.0.0.1").setPort(RestAssured.port).setURI(PATH)
                        .putHeader("content-type", "application/grpc").putHeader("te", "trailers")
                        .putHeader("grpc-timeout", "300m"))
                .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        java.util.concurrent.CompletableFuture<Throwable> reset = new java.util.concurrent.CompletableFuture<>();
        request.exceptionHandler(reset::complete);
        request.setChunked(true);
        var answer = request.response().toCompletionStage().toCompletableFuture();
        Buffer one = framed(MATMUL.toByteArray());
        request.write(one.getBuffer(0, one.length() - 2)); // all but two bytes of the message, then nothing

        io.vertx.core.http.HttpClientResponse r = answer.get(10, TimeUnit.SECONDS);
        assertThat(r.getHeader("grpc-status")).isEqualTo("4"); // DEADLINE_EXCEEDED, trailers-only
        assertThat(java.net.URLDecoder.decode(r.getHeader("grpc-message"), java.nio.charset.StandardCharsets.UTF_8))
                .isEqualTo("deadline passed while the request message was being read (grpc-timeout 300m)");
        // and the stream is reset, so that it holds nothing on either side
        assertThat(reset).succeedsWithin(java.time.Duration.ofSeconds(10))
                .isInstanceOfSatisfying(io.vertx.core.http.StreamResetException.class, e -> assertThat(e.getCode()).isZero());
    }

    @Test
    void aMessageDeclaredOverTheLimitIsRefusedFromItsPrefix() throws Exception {
        // 1 GiB declared, a few bytes sent: RESOURCE_EXHAUSTED (as grpc-java answers), not "cut short"
        double before = GrpcProtocolTest.unreadRefusals();
        Answer a = post(Buffer.buffer().appendByte((byte) 0).appendInt(1 << 30).appendBytes(new byte[16]));

        assertThat(a.grpcStatus()).isEqualTo("8");
        assertThat(a.headers().get("grpc-message")).startsWith("1073741824-byte request message is larger than the server's limit");
        assertThat(GrpcProtocolTest.unreadRefusals()).isEqualTo(before + 1);
    }

    @Test
    void anUploadStillComingAfterAnEarlyAnswerIsResetSoTheClientStopsSending() throws Exception {
        for (String path : List.of(PATH, STREAM)) {
            io.vertx.core.http.HttpClientRequest request = http2.request(new RequestOptions().setMethod(HttpMethod.POST)
                            .setHost("127.0.0.1").setPort(RestAssured.port).setURI(path)
                            .putHeader("content-type", "application/grpc").putHeader("te", "trailers"))
                    .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            java.util.concurrent.CompletableFuture<Throwable> reset = new java.util.concurrent.CompletableFuture<>();
            request.exceptionHandler(reset::complete);
            request.setChunked(true); // no length given (HTTP/2 needs none; Vert.x's client asks for one or this)
            var answer = request.response().toCompletionStage().toCompletableFuture();
            request.write(Buffer.buffer().appendByte((byte) 0).appendInt(1 << 30).appendBytes(new byte[16]));

            // refused from the prefix while the stream is still open
            assertThat(answer.get(10, TimeUnit.SECONDS).getHeader("grpc-status")).as(path).isEqualTo("8");
            request.write(Buffer.buffer(new byte[1024])); // more of the gigabyte: nobody reads it
            assertThat(reset).as(path).succeedsWithin(java.time.Duration.ofSeconds(10))
                    .isInstanceOfSatisfying(io.vertx.core.http.StreamResetException.class, e -> assertThat(e.getCode()).isZero());
        }
    }

    @Test
    void aCompressedCallFromGrpcJavaIsAnswered() throws Exception {
        ManagedChannel channel = GrpcClients.channel();
        try {
            ModelInferResponse r = GRPCInferenceServiceGrpc.newBlockingStub(channel).withCompression("gzip")
                    .withDeadlineAfter(30, TimeUnit.SECONDS).modelInfer(MATMUL.toBuilder()
                            .setId("compressed").build());
            assertThat(r.getId()).isEqualTo("compressed");
            assertThat(GrpcProtocolTest.floats(r.getRawOutputContents(0))).containsExactly(9, 12);
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void theTensorsOfALargeRequestArriveWhole() throws Exception {
        int rows = 20_000; // 240 KB of input, many DATA frames
        float[] ones = new float[rows * 3];
        java.util.Arrays.fill(ones, 1f);
        ModelInferRequest big = ModelInferRequest.newBuilder().setModelName("matmul")
                .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("X").setDatatype("FP32")
                        .addShape(rows).addShape(3))
                .addRawInputContents(GrpcProtocolTest.rawFloats(ones)).build();
        Answer a = post(framed(big.toByteArray()));

        assertThat(a.trailers().get("grpc-status")).isEqualTo("0");
        ModelInferResponse r = ModelInferResponse.parseFrom(a.body().getBytes(5, a.body().length()));
        float[] out = GrpcProtocolTest.floats(r.getRawOutputContents(0));
        assertThat(out).hasSize(rows * 2);
        for (int i = 0; i < out.length; i += 2) {
            assertThat(out[i]).isEqualTo(9);
            assertThat(out[i + 1]).isEqualTo(12);
        }
    }
}
