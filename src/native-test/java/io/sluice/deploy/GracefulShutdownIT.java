package io.sluice.deploy;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.sluice.fixtures.TinyModels;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * SIGTERM on the packaged artifact: readiness reports DOWN while the server still answers (the
 * pre-shutdown delay); after the delay Quarkus waits for the requests in flight, and a request that
 * was already in flight then completes with its inference; only then does the process exit. The in-flight request is held open by its own body:
 * the client sends the headers (with {@code Expect: 100-continue}, so the server's
 * {@code 100 Continue} proves it has taken the request) and sends the body only once Quarkus has
 * logged that it waits for requests in flight. Nothing here sleeps: every step waits for what the
 * server says, over HTTP or in its log.
 */
class GracefulShutdownIT {

    /** Short enough for a quick test, long enough for a few readiness polls. */
    private static final String DELAY = "3s";
    private static final String DRAIN_TIMEOUT = "60s";
    private static final String BODY = """
            {"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,4],"data":[1.5,2.5,3.5,4.5]}]}""";

    /** Logged by Quarkus when the delay is over and it starts waiting for requests in flight. */
    private static final String WAITING = "Waiting for HTTP requests to complete";
    private static final String DRAINED = "All HTTP requests complete";

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private Process server;

    @AfterEach
    void stop() {
        if (server != null && server.isAlive()) {
            server.destroyForcibly();
        }
    }

    @Test
    void sigtermDrainsTheInFlightRequestAfterReadinessGoesDown() throws Exception {
        int port = PackagedArtifact.freePort();
        Path log = Path.of("target", "graceful-shutdown-it.log");
        server = start(port, log);
        String base = "http://127.0.0.1:" + port;
        PackagedArtifact.awaitReady(http, base);

        try (Socket inFlight = new Socket("127.0.0.1", port)) {
            inFlight.setSoTimeout(60_000);
            OutputStream out = inFlight.getOutputStream();
            byte[] body = BODY.getBytes(UTF_8);
            out.write(("POST /v2/models/identity/infer HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + body.length + "\r\n"
                    + "Expect: 100-continue\r\nConnection: close\r\n\r\n").getBytes(US_ASCII));
            out.flush();
            InputStream in = inFlight.getInputStream();
            assertThat(readHead(in)).as("the server takes the request").startsWith("HTTP/1.1 100");

            server.destroy(); // SIGTERM

            // pre-shutdown: readiness is DOWN because of the shutdown, and the server still answers
            await("readiness DOWN").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
                    .until(() -> {
                        HttpResponse<String> r = PackagedArtifact.get(http, base + "/q/health/ready");
                        return r != null && r.statusCode() == 503 && r.body().contains("\"DOWN\"")
                                && r.body().contains("Graceful Shutdown");
                    });
            // and the OIP's readiness with it, as Triton's once it starts to exit (400: not ready)
            await("OIP readiness false").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50))
                    .until(() -> PackagedArtifact.status(http, base + "/v2/health/ready") == 400);
            // pre-shutdown also closes each connection after its response, so that clients move on
            assertThat(closesConnection(port)).as("Connection: close during pre-shutdown").isTrue();
            // after the delay the shutdown proper waits for the requests in flight: ours
            await("drain").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
                    .until(() -> Files.readString(log).contains(WAITING));
            assertThat(server.isAlive()).as("the process waits for the in-flight request").isTrue();

            out.write(body);
            out.flush();
            String response = new String(in.readAllBytes(), UTF_8);
            while (response.startsWith("HTTP/1.1 100")) { // interim answers before the final one
                response = response.substring(response.indexOf("\r\n\r\n") + 4);
            }
            assertThat(response).as("the in-flight request completes with its inference").startsWith("HTTP/1.1 200")
                    .contains("\"OUTPUT0\"").contains("[1.5,2.5,3.5,4.5]");
        }

        assertThat(server.waitFor(30, TimeUnit.SECONDS)).as("the process exits once drained; log: %s", log).isTrue();
        String output = Files.readString(log);
        assertThat(output).as("drained, not timed out").contains(DRAINED).doesNotContain("Timed out waiting for");
        assertThat(output.indexOf(DRAINED)).isGreaterThan(output.indexOf(WAITING));
    }

    private static Process start(int port, Path log) throws IOException {
        Path repo = TinyModels.newRepository("sluice-shutdown-repo");
        TinyModels.write(repo, "identity", 1, TinyModels.identity("FLOAT"));
        return PackagedArtifact.start(port, List.of(
                "-Dquarkus.shutdown.delay=" + DELAY,
                "-Dquarkus.shutdown.timeout=" + DRAIN_TIMEOUT,
                "-Dsluice.repository.paths=" + repo), log);
    }

    /** Reads an HTTP response head up to its blank line. */
    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(US_ASCII).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            head.write(b);
        }
        return head.toString(US_ASCII);
    }

    /** Whether a fresh keep-alive request is answered with {@code Connection: close}, as only during the drain. */
    private static boolean closesConnection(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(5_000);
            s.getOutputStream().write(("GET /v2 HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\n\r\n").getBytes(US_ASCII));
            s.getOutputStream().flush();
            return readHead(s.getInputStream()).toLowerCase(java.util.Locale.ROOT).contains("\r\nconnection: close\r\n");
        } catch (IOException e) {
            return false;
        }
    }
}
