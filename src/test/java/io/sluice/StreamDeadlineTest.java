package io.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.api.grpc.proto.ModelStreamInferResponse;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import jakarta.inject.Inject;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A {@code ModelStreamInfer} call ends with DEADLINE_EXCEEDED at its {@code grpc-timeout}, after the answers it gave
 * in time, even when its next message never arrives whole: here one cut short, its client neither sending the rest
 * nor half-closing (before, a stream whose next message never reached Sluice stayed open for good). The client is a
 * plain HTTP/2 one, so that the deadline is the server's to keep, not the client library's.
 */
@QuarkusTest
@QuarkusTestResource(TinyRepositoryResource.class)
class StreamDeadlineTest {
    private static final ModelInferRequest MATMUL = GrpcDirectInferTest.MATMUL.toBuilder().setId("one").build();

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

    private static Buffer frame(int flag, byte[] message) {
        return Buffer.buffer().appendByte((byte) flag).appendInt(message.length).appendBytes(message);
    }

    private HttpClientRequest stream(String timeout) throws Exception {
        return http2.request(new RequestOptions().setMethod(HttpMethod.POST)
                        .setHost("127.0.0.1").setPort(RestAssured.port).setURI("/inference.GRPCInferenceService/ModelStreamInfer")
                        .putHeader("content-type", "application/grpc").putHeader("te", "trailers")
                        .putHeader("grpc-encoding", "gzip").putHeader("grpc-timeout", timeout))
                .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void aDeadlineUnderAMillisecondEndsTheStreamToo() throws Exception {
        // less than a timer's least wait: the stream still ends, 1 ms after its deadline at most
        HttpClientRequest request = stream("500u");
        request.setChunked(true);
        CompletableFuture<Void> ended = new CompletableFuture<>();
        CompletableFuture<HttpClientResponse> response = request.response()
                .onSuccess(answer -> answer.endHandler(v -> ended.complete(null))).toCompletionStage().toCompletableFuture();
        request.write(Buffer.buffer().appendByte((byte) 0).appendInt(0)); // an empty message, and then nothing
        HttpClientResponse r = response.get(10, TimeUnit.SECONDS);
        ended.get(10, TimeUnit.SECONDS);
        assertThat(r.trailers().get("grpc-status") != null ? r.trailers().get("grpc-status") : r.getHeader("grpc-status"))
                .isEqualTo("4"); // DEADLINE_EXCEEDED
    }

    @Test
    void aStreamWhoseNextMessageNeverArrivesEndsAtItsDeadline() throws Exception {
        HttpClientRequest request = stream("3S");
        request.setChunked(true);
        CompletableFuture<Throwable> reset = new CompletableFuture<>();
        request.exceptionHandler(reset::complete);
        Buffer body = Buffer.buffer();
        CompletableFuture<Void> ended = new CompletableFuture<>();
        // the handlers are set as the response comes, on the event loop, before any of its data can
        CompletableFuture<HttpClientResponse> response = request.response().onSuccess(answer -> {
            answer.handler(chunk -> {
                synchronized (body) {
                    body.appendBuffer(chunk);
                }
            });
            answer.endHandler(v -> ended.complete(null));
        }).toCompletionStage().toCompletableFuture();
        request.write(frame(0, MATMUL.toByteArray()));
        HttpClientResponse r = response.get(10, TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            synchronized (body) {
                return body.length() >= 5 && body.length() >= 5 + body.getUnsignedInt(1);
            }
        });
        // the answer given before it
        ModelStreamInferResponse first = ModelStreamInferResponse.parseFrom(body.getBytes(5, 5 + (int) body.getUnsignedInt(1)));
        assertThat(first.getErrorMessage()).isEmpty();
        assertThat(first.getInferResponse().getId()).isEqualTo("one");
        assertThat(GrpcProtocolTest.floats(first.getInferResponse().getRawOutputContents(0))).containsExactly(9, 12);

        Buffer two = frame(0, MATMUL.toBuilder().setId("two").build().toByteArray());
        request.write(two.getBuffer(0, two.length() - 3));
        // and the client neither sends the rest nor half-closes
        ended.get(10, TimeUnit.SECONDS);
        assertThat(r.trailers().get("grpc-status")).isEqualTo("4"); // DEADLINE_EXCEEDED
        assertThat(URLDecoder.decode(r.trailers().get("grpc-message"), StandardCharsets.UTF_8))
                .isEqualTo("the stream's deadline (grpc-timeout) passed");
        assertThat(body.length()).isEqualTo(5 + (int) body.getUnsignedInt(1));
        // and, its status sent, the stream is reset, so that it holds neither the stream nor the part sent
        assertThat(reset).succeedsWithin(Duration.ofSeconds(10))
                .isInstanceOfSatisfying(io.vertx.core.http.StreamResetException.class, e -> assertThat(e.getCode()).isZero());
    }
}
