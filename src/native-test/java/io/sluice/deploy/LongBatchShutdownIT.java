package io.sluice.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.sluice.fixtures.TinyModels;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * SIGTERM on the packaged artifact while one batch runs far past the shutdown's drain: the model's close
 * stops the batch through ONNX Runtime, frees its session, and the process exits as a SIGTERM ends it.
 * Checked by hand against the code before: with neither fix, ONNX Runtime's own shutdown hook freed its
 * environment under the running batch and the JVM crashed in libonnxruntime.so (SIGSEGV, an hs_err
 * report; the exit status still read 143); with the environment held but no stop, the process exited
 * cleanly with the session left open. Nothing here sleeps: every step waits for what the server says.
 */
class LongBatchShutdownIT {

    /** 20,000 chained 256 × 256 MatMuls over this many rows, on one thread: tens of seconds of work. */
    private static final int ROWS = 1024;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private Process server;

    @AfterEach
    void stop() {
        if (server != null && server.isAlive()) {
            server.destroyForcibly();
        }
    }

    @Test
    void aBatchRunningAtShutdownIsStoppedAndTheProcessExitsCleanly() throws Exception {
        int port = PackagedArtifact.freePort();
        Path log = Path.of("target", "long-batch-shutdown-it.log");
        Path crashes = Files.createTempDirectory("sluice-long-batch");
        server = start(port, log, crashes);
        String base = "http://127.0.0.1:" + port;
        PackagedArtifact.awaitReady(http, base);

        String zeros = IntStream.range(0, ROWS * TinyModels.SLOW_WIDTH).mapToObj(i -> "0").collect(Collectors.joining(","));
        String body = "{\"inputs\":[{\"name\":\"X\",\"datatype\":\"FP32\",\"shape\":[" + ROWS + "," + TinyModels.SLOW_WIDTH
                + "],\"data\":[" + zeros + "]}]}";
        CompletableFuture<HttpResponse<String>> answer = http.sendAsync(
                HttpRequest.newBuilder(URI.create(base + "/v2/models/slow/infer"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        await("the batch runs").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
                .until(() -> metrics(base).contains("sluice_inflight{model=\"slow\"} 1.0"));

        server.destroy(); // SIGTERM

        assertThat(server.waitFor(60, TimeUnit.SECONDS)).as("the process exits; log: %s", log).isTrue();
        String output = Files.readString(log);
        // 143: a JVM's status after SIGTERM. A crash while the JVM exits reported it too, so the crash report
        // is looked for as well
        assertThat(server.exitValue()).as("exit status; log: %s", log).isIn(0, 143);
        // HotSpot's crash report, and a native executable's (SubstrateSegfaultHandler's "Segfault detected")
        assertThat(output).as("no crash in native code").doesNotContain("A fatal error has been detected")
                .doesNotContain("SIGSEGV").doesNotContain("Segfault detected");
        try (var reports = Files.list(crashes)) {
            assertThat(reports).as("no crash report in %s", crashes).isEmpty();
        }
        assertThat(output).as("the batch outlasted the drain and was stopped")
                .contains("model slow/1 is still running a batch; stopping it")
                .doesNotContain("session is left open");
        // the HTTP server stopped after quarkus.shutdown.timeout, before the batch did: the connection closes
        await("the caller is not left hanging").atMost(Duration.ofSeconds(10)).until(answer::isDone);
        if (!answer.isCompletedExceptionally()) {
            assertThat(answer.join().statusCode()).as("no inference came back").isNotEqualTo(200);
        }
    }

    private static Process start(int port, Path log, Path crashes) throws IOException {
        Path repo = TinyModels.newRepository("sluice-long-batch-repo");
        TinyModels.write(repo, "slow", 1, TinyModels.slow(20_000));
        List<String> jvm = PackagedArtifact.isJar() ? List.of("-XX:ErrorFile=" + crashes.resolve("hs_err_pid%p.log")) : List.of();
        return PackagedArtifact.start(port, Stream.concat(jvm.stream(), Stream.of(
                "-Dquarkus.shutdown.delay=1s",
                "-Dquarkus.shutdown.timeout=1s",
                "-Dsluice.repository.paths=" + repo,
                "-Dsluice.models.slow.batching.instances=1",
                "-Dsluice.models.slow.batching.max-batch-size=1",
                "-Dsluice.models.slow.threads.intra-op=1",
                "-Dsluice.models.slow.admission.timeout=120s")).toList(), log);
    }

    private String metrics(String base) {
        HttpResponse<String> r = PackagedArtifact.get(http, base + "/q/metrics");
        return r == null ? "" : r.body();
    }
}
