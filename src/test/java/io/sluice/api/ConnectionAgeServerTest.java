package io.sluice.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.RestAssured;
import io.sluice.Http2Clients;
import io.sluice.Await;
import io.sluice.GrpcClients;
import io.sluice.GrpcStream;
import io.sluice.api.grpc.proto.GRPCInferenceServiceGrpc;
import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.api.grpc.proto.ModelStreamInferResponse;
import io.sluice.api.grpc.proto.ServerLiveRequest;
import io.sluice.fixtures.TinyModels;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import jakarta.inject.Inject;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code sluice.server.max-connection-age} on the running server, with its clock moved by the test: the first request
 * past a connection's age is answered and then the connection goes (HTTP/1.1 {@code Connection: close}, HTTP/2
 * GOAWAY), and a grpc-java client's calls go on over a new connection, on the direct {@code ModelInfer} route and
 * through Quarkus's gRPC bridge alike.
 */
@QuarkusTest
@TestProfile(ConnectionAgeServerTest.Profile.class)
class ConnectionAgeServerTest {

    private static final Duration AGE = Duration.ofMinutes(5);

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Path repo = TinyModels.newRepository("sluice-connection-age");
            TinyModels.write(repo, "matmul", 1, TinyModels.matmul());
            return Map.of("sluice.repository.paths", repo.toString(), "sluice.server.max-connection-age", "5m");
        }
    }

    @Inject
    ConnectionAge age;

    @Inject
    MeterRegistry registry;

    @Inject
    Vertx vertx;

    private final AtomicLong now = new AtomicLong();

    @BeforeEach
    void clock() {
        Await.serverReady();
        age.clock = now::get;
        age.jitter = () -> 1.0;
    }

    private void pastTheAge() {
        now.addAndGet(AGE.toNanos());
    }

    private double aged(String http) {
        return registry.get("sluice.connections.aged").tag("http", http).counter().count();
    }

    @Test
    void http11AnswersTheRequestPastTheAgeWithConnectionCloseAndCloses() throws Exception {
        double before = aged("1.1");
        try (Socket socket = new Socket("127.0.0.1", RestAssured.port)) {
            socket.setSoTimeout(30_000);
            OutputStream out = socket.getOutputStream();
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));

            List<String> first = exchange(out, in);
            assertThat(first.get(0)).isEqualTo("HTTP/1.1 200 OK");
            assertThat(first).noneMatch(h -> h.equalsIgnoreCase("connection: close"));

            pastTheAge();
            List<String> second = exchange(out, in);
            assertThat(second.get(0)).isEqualTo("HTTP/1.1 200 OK");
            assertThat(second).anyMatch(h -> h.equalsIgnoreCase("connection: close"));
            assertThat(in.read()).as("the server closed the connection").isEqualTo(-1);
        }
        assertThat(aged("1.1")).isEqualTo(before + 1);
    }

    @Test
    void http11ClosesARequestPipelinedBehindTheAnswerThatSaidCloseUnread() throws Exception {
        try (Socket socket = new Socket("127.0.0.1", RestAssured.port)) {
            socket.setSoTimeout(30_000);
            OutputStream out = socket.getOutputStream();
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
            assertThat(exchange(out, in).get(0)).isEqualTo("HTTP/1.1 200 OK");

            pastTheAge();
            String get = "GET /v2/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
            out.write((get + get).getBytes(StandardCharsets.US_ASCII)); // the second pipelined behind the first
            out.flush();
            List<String> first = read(in);
            assertThat(first.get(0)).isEqualTo("HTTP/1.1 200 OK");
            assertThat(first).anyMatch(h -> h.equalsIgnoreCase("connection: close"));
            assertThat(in.read()).as("no answer to the pipelined request: closed unread").isEqualTo(-1);
        }
    }

    /** Sends one keep-alive GET of {@code /v2/health/live} and reads its status line, headers and body. */
    private static List<String> exchange(OutputStream out, BufferedReader in) throws Exception {
        out.write("GET /v2/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        return read(in);
    }

    /** Reads one answer: its status line and headers, and its body past them. */
    private static List<String> read(BufferedReader in) throws Exception {
        List<String> head = new ArrayList<>();
        int length = 0;
        for (String line = in.readLine(); !line.isEmpty(); line = in.readLine()) {
            head.add(line);
            if (line.toLowerCase().startsWith("content-length:")) {
                length = Integer.parseInt(line.substring("content-length:".length()).trim());
            }
        }
        for (int i = 0; i < length; i++) {
            in.read();
        }
        return head;
    }

    @Test
    void http2AnswersTheRequestPastTheAgeThenSendsGoAway() throws Exception {
        double before = aged("2");
        List<Long> errorCodes = new CopyOnWriteArrayList<>();
        HttpClient http2 = Http2Clients.priorKnowledge(vertx, new HttpClientOptions().setHttp2MaxPoolSize(1));
        http2.connectionHandler(connection -> connection.goAwayHandler(goAway -> errorCodes.add(goAway.getErrorCode())));
        try {
            assertThat(live(http2)).isEqualTo(200);
            assertThat(errorCodes).isEmpty();

            pastTheAge();
            assertThat(live(http2)).as("the request past the age is answered").isEqualTo(200);
            await().atMost(Duration.ofSeconds(30)).until(() -> !errorCodes.isEmpty());
            assertThat(errorCodes).containsExactly(0L); // NO_ERROR (Vert.x tells the first GOAWAY only)
            assertThat(live(http2)).as("a new connection serves the next").isEqualTo(200);
        } finally {
            Http2Clients.close(http2);
        }
        assertThat(aged("2")).isEqualTo(before + 1);
    }

    @Test
    void theGoAwayComesInGrpcsTwoStepsAndTheCallThatCausedItGoesOn() throws Exception {
        try (H2FrameClient client = H2FrameClient.connect(RestAssured.port)) {
            assertThat(client.get(3, "/v2/health/live")).isEqualTo("200"); // the connection's first request
            pastTheAge();
            String head = "{\"inputs\":[{\"name\":\"X\",\"datatype\":\"FP32\",";
            String tail = "\"shape\":[1,3],\"data\":[1,1,1]}]}";
            client.postStart(5, "/v2/models/matmul/infer", head, head.length() + tail.length());
            // "no new calls" while still taking any on their way, then, once a PING came back, the last one taken
            await().atMost(Duration.ofSeconds(30)).until(() -> client.goAways().size() == 2);
            assertThat(client.goAways()).containsExactly(Integer.MAX_VALUE, 5);
            assertThat(client.postEnd(5, tail)).as("the call open on the connection goes on").contains("[9.0,12.0]");
        }
    }

    private static int live(HttpClient client) throws Exception {
        return client.request(HttpMethod.GET, RestAssured.port, "127.0.0.1", "/v2/health/live")
                .compose(request -> request.send())
                .map(HttpClientResponse::statusCode)
                .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    private static final ModelInferRequest MATMUL = ModelInferRequest.newBuilder().setModelName("matmul")
            .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("X").setDatatype("FP32")
                    .addShape(1).addShape(3))
            .addRawInputContents(GrpcClients.rawFloats(1, 1, 1))
            .build();

    @Test
    void aStreamOpenOnTheConnectionGoesOnAfterTheGoAway() {
        double before = aged("2");
        ManagedChannel channel = GrpcClients.channel();
        try {
            var stub = GRPCInferenceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
            GrpcStream stream = GrpcStream.open(channel, false).send(MATMUL);
            assertThat(stream.awaitAnswers(1)).hasSize(1);

            pastTheAge(); // a unary call on the same connection, past its age: the GOAWAY
            assertThat(stub.serverLive(ServerLiveRequest.getDefaultInstance()).getLive()).isTrue();
            assertThat(aged("2")).isEqualTo(before + 1);

            List<ModelStreamInferResponse> answers = stream.send(MATMUL).send(MATMUL).awaitAnswers(3);
            assertThat(answers).allSatisfy(a -> {
                assertThat(a.getErrorMessage()).isEmpty();
                assertThat(GrpcClients.floats(a.getInferResponse().getRawOutputContents(0))).containsExactly(9, 12);
            });
            assertThat(stream.halfClose().awaitEnd().isOk()).as("the stream ends as its client ends it").isTrue();
        } finally {
            channel.shutdownNow();
        }
    }

    @Test
    void aGrpcClientsCallsGoOnOverANewConnectionOnTheDirectRouteAndTheBridge() {
        ModelInferRequest matmul = MATMUL;
        double before = aged("2");
        ManagedChannel channel = GrpcClients.channel();
        try {
            var stub = GRPCInferenceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
            assertThat(GrpcClients.floats(stub.modelInfer(matmul).getRawOutputContents(0))).containsExactly(9, 12);

            pastTheAge(); // the direct route's call past the age: answered, then GOAWAY
            assertThat(GrpcClients.floats(stub.modelInfer(matmul).getRawOutputContents(0))).containsExactly(9, 12);
            assertThat(aged("2")).isEqualTo(before + 1);
            assertThat(stub.serverLive(ServerLiveRequest.getDefaultInstance()).getLive()).isTrue();

            pastTheAge(); // the bridge's call past the new connection's age
            assertThat(stub.serverLive(ServerLiveRequest.getDefaultInstance()).getLive()).isTrue();
            assertThat(aged("2")).as("a second connection, asked in turn").isEqualTo(before + 2);
            assertThat(GrpcClients.floats(stub.modelInfer(matmul).getRawOutputContents(0))).containsExactly(9, 12);
        } finally {
            channel.shutdownNow();
        }
    }
}
