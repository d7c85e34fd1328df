package io.sluice;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import jakarta.inject.Inject;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * Quarkus's HTTP server meters take no tag value a client makes up: answers Quarkus would tag with their raw path
 * (an OPTIONS, a 405, Vert.x's 400s before routing, a 404 with doubled slashes, a gRPC method this server lacks)
 * count under {@code uri="/UNMATCHED"}, and a made-up method under {@code method="OTHER"}.
 */
@QuarkusTest
@QuarkusTestResource(TinyRepositoryResource.class)
class HttpMeterTagsTest {
    private static final Pattern COUNT = Pattern.compile(
            "(?m)^http_server_requests_seconds_count\\{(.*?)} ([0-9.eE+-]+)(?: #.*)?$"); // labels may hold a brace

    @Inject
    Vertx vertx;

    @Test
    void madeUpPathsAndMethodsMakeNoSeriesOfTheirOwn() throws Exception {
        Await.serverReady();
        // each answer's meter is recorded as it ends on the server, maybe after the client has read it: awaited
        unmatched("OPTIONS /v2/made-up-tag-a HTTP/1.1\r\nHost: 127.0.0.1\r\n", "HTTP/1.1 404");
        unmatched("OPTIONS /v2/models/made-up-tag-g/infer HTTP/1.1\r\nHost: 127.0.0.1\r\n", "HTTP/1.1 200");
        unmatched("GET /v2/models/made-up-tag-b%zz HTTP/1.1\r\nHost: 127.0.0.1\r\n", "HTTP/1.1 400");
        unmatched("PUT /v2/models/made-up-tag-c HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n", "HTTP/1.1 405");
        unmatched("GET //made-up-tag-d HTTP/1.1\r\nHost: 127.0.0.1\r\n", "HTTP/1.1 404");
        unmatched("GET /made-up-tag-e HTTP/1.1\r\n", "HTTP/1.1 400"); // no Host: Vert.x refuses it before routing

        double before = sum("uri=\"/UNMATCHED\"");
        HttpClient http2 = Http2Clients.priorKnowledge(vertx);
        try {
            HttpClientResponse grpc = http2.request(new RequestOptions().setMethod(HttpMethod.POST)
                            .setHost("127.0.0.1").setPort(RestAssured.port).setURI("/made.up.Tag/MadeUpTagF")
                            .putHeader("content-type", "application/grpc").putHeader("te", "trailers"))
                    .compose(request -> request.send(Buffer.buffer(new byte[5]))) // one empty message
                    .compose(response -> response.end().map(response))
                    .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            // UNIMPLEMENTED, as a trailer or (trailers-only) among the headers
            String status = grpc.getTrailer("grpc-status") != null ? grpc.getTrailer("grpc-status")
                    : grpc.getHeader("grpc-status");
            assertThat(status).as("HTTP %s, headers %s", grpc.statusCode(), grpc.headers()).isEqualTo("12");
        } finally {
            Http2Clients.close(http2);
        }
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> sum("uri=\"/UNMATCHED\"") >= before + 1);

        double others = sum("method=\"OTHER\"");
        assertThat(answer("MADEUPTAGG /v2 HTTP/1.1\r\nHost: 127.0.0.1\r\n")).startsWith("HTTP/1.1 ");
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> sum("method=\"OTHER\"") >= others + 1);

        assertThat(RestAssured.given().get("/q/metrics").asString())
                .doesNotContainIgnoringCase("made-up-tag").doesNotContainIgnoringCase("madeuptag");
    }

    @Test
    void realRoutesKeepTheirTemplates() throws Exception {
        Await.serverReady();
        String infer = "uri=\"/v2/models/{model}/infer\"";
        String load = "uri=\"/v2/repository/models/{model}/{action: load|unload}\"";
        String grpc = "uri=\"/inference.GRPCInferenceService/ModelInfer\"";
        double inferBefore = sum(infer);
        double loadBefore = sum(load);
        double grpcBefore = sum(grpc);
        RestAssured.given().contentType("application/json")
                .body("{\"inputs\":[{\"name\":\"X\",\"datatype\":\"FP32\",\"shape\":[1,3],\"data\":[1,1,1]}]}")
                .post("/v2/models/matmul/infer").then().statusCode(200);
        RestAssured.given().post("/v2/repository/models/matmul/load").then().statusCode(400);
        io.grpc.ManagedChannel channel = GrpcClients.channel();
        try {
            io.sluice.api.grpc.proto.GRPCInferenceServiceGrpc.newBlockingStub(channel).modelInfer(
                    io.sluice.api.grpc.proto.ModelInferRequest.newBuilder().setModelName("matmul")
                            .addInputs(GrpcProtocolTest.fp32("X", 1, 1, 1))
                            .build());
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        for (var expected : Map.of(infer, inferBefore, load, loadBefore, grpc, grpcBefore).entrySet()) {
            try {
                Awaitility.await().atMost(Duration.ofSeconds(10))
                        .until(() -> sum(expected.getKey()) == expected.getValue() + 1);
            } catch (org.awaitility.core.ConditionTimeoutException e) {
                throw new AssertionError("no new request under " + expected.getKey() + " in:" + requestCounts(), e);
            }
        }
    }

    /** Sends {@code request}, expects {@code status}, and waits for one more answer under {@code /UNMATCHED}. */
    private static void unmatched(String request, String status) throws Exception {
        double before = sum("uri=\"/UNMATCHED\"");
        assertThat(answer(request)).startsWith(status);
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> sum("uri=\"/UNMATCHED\"") >= before + 1);
    }

    /** The whole answer to {@code head} (a request line and headers), sent on a new connection that then closes. */
    private static String answer(String head) throws Exception {
        try (Socket socket = new Socket("127.0.0.1", RestAssured.port)) {
            socket.setSoTimeout(30_000);
            socket.getOutputStream().write((head + "Connection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** Every {@code http_server_requests} count series, for a failure's message. */
    private static String requestCounts() {
        Matcher m = COUNT.matcher(RestAssured.given().get("/q/metrics").asString());
        StringBuilder all = new StringBuilder();
        while (m.find()) {
            all.append('\n').append(m.group());
        }
        return all.toString();
    }

    /** The count of every {@code http_server_requests} series whose tags contain {@code tag}. */
    private static double sum(String tag) {
        Matcher m = COUNT.matcher(RestAssured.given().get("/q/metrics").asString());
        double sum = 0;
        while (m.find()) {
            if (m.group(1).contains(tag)) {
                sum += Double.parseDouble(m.group(2));
            }
        }
        return sum;
    }
}
