package io.sluice.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.sluice.GrpcStream;
import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.fixtures.TinyModels;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * SIGTERM on the packaged artifact while a client holds a {@code ModelStreamInfer} stream open: during the
 * shutdown delay streams are served (one opened after the signal too), then each is ended with UNAVAILABLE,
 * so its client opens a new one on another replica, and the process exits once drained instead of waiting
 * out {@code quarkus.shutdown.timeout} for a stream that would never end by itself.
 */
class StreamShutdownIT {

    private Process server;
    private ManagedChannel channel;

    @AfterEach
    void stop() throws InterruptedException {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (server != null && server.isAlive()) {
            server.destroyForcibly();
        }
    }

    @Test
    void sigtermEndsAnOpenStreamAfterItsAnswersAndTheProcessExitsDrained() throws Exception {
        int port = PackagedArtifact.freePort();
        Path log = Path.of("target", "stream-shutdown-it.log");
        Path repo = TinyModels.newRepository("sluice-stream-shutdown-repo");
        TinyModels.write(repo, "identity", 1, TinyModels.identity("FLOAT"));
        server = PackagedArtifact.start(port, List.of("-Dquarkus.shutdown.delay=3s",
                "-Dquarkus.shutdown.timeout=120s", "-Dsluice.repository.paths=" + repo), log);
        HttpClient http = HttpClient.newHttpClient();
        await("ready").atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(100)).until(() -> {
            try {
                return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/q/health/ready")).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
            } catch (java.io.IOException e) {
                return false;
            }
        });

        channel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        GrpcStream stream = GrpcStream.open(channel, false).send(row("before"));
        assertThat(stream.awaitAnswers(1).get(0).getErrorMessage()).isEmpty();

        long sigterm = System.nanoTime();
        server.destroy(); // SIGTERM, with the stream open and idle
        // during the delay a stream is served as a unary call is, a new one included
        GrpcStream during = GrpcStream.open(channel, false).send(row("during"));
        assertThat(during.awaitAnswers(1).get(0).getErrorMessage()).isEmpty();

        for (GrpcStream s : List.of(stream, during)) {
            Status end = s.awaitEnd();
            assertThat(end.getCode()).as("the stream's end: %s", end).isEqualTo(Status.Code.UNAVAILABLE);
            assertThat(end.getDescription()).contains("shutting down");
            assertThat(s.answers()).hasSize(1);
        }
        assertThat(server.waitFor(60, TimeUnit.SECONDS)).as("the process exits; log: %s", log).isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - sigterm))
                .as("well before the 120 s drain timeout").isLessThan(Duration.ofSeconds(60));
        // the stream was over before the drain began: nothing left for Quarkus to wait for, let alone time out on
        assertThat(Files.readString(log)).contains("sluice stopped").doesNotContain("Timed out waiting for")
                .doesNotContain("Graceful shutdown failed");
    }

    private static ModelInferRequest row(String id) {
        return ModelInferRequest.newBuilder().setModelName("identity").setId(id)
                .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("INPUT0").setDatatype("FP32")
                        .addShape(1).addShape(4))
                .addRawInputContents(ByteString.copyFrom(new byte[16])).build();
    }
}
