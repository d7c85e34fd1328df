package io.sluice.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * Starts what the build packaged last as a process of its own, the JVM jar or the native executable,
 * as {@code @QuarkusIntegrationTest} finds it: {@code target/quarkus-artifact.properties} (a native
 * build without {@code clean} leaves the jar beside the executable). For tests that need the process
 * itself: its signals, its threads.
 */
final class PackagedArtifact {

    private PackagedArtifact() {}

    /** Starts it on 127.0.0.1:{@code port} with {@code properties} ({@code -Dname=value}), output to {@code log}. */
    static Process start(int port, List<String> properties, Path log) throws IOException {
        Properties artifact = artifact();
        boolean isJar = "jar".equals(artifact.getProperty("type"));
        Path packaged = Path.of("target").resolve(artifact.getProperty("path", ""));
        List<String> command = new ArrayList<>();
        if (isJar) {
            command.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Djava.util.logging.manager=org.jboss.logmanager.LogManager"));
        } else {
            Path nativeImage = Path.of(System.getProperty("native.image.path", packaged.toString()));
            assertThat(nativeImage).as("the packaged native executable (%s)", artifact).isExecutable();
            command.add(nativeImage.toString());
        }
        command.addAll(List.of("-Dquarkus.http.host=127.0.0.1", "-Dquarkus.http.port=" + port));
        command.addAll(properties);
        if (isJar) {
            command.addAll(List.of("-jar", packaged.toString()));
        }
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /** True when the packaged artifact is a jar (a JVM), not a native executable. */
    static boolean isJar() throws IOException {
        return "jar".equals(artifact().getProperty("type"));
    }

    private static Properties artifact() throws IOException {
        Properties artifact = new Properties();
        try (InputStream in = Files.newInputStream(Path.of("target", "quarkus-artifact.properties"))) {
            artifact.load(in);
        }
        return artifact;
    }

    /** GET {@code url}, or null while nothing listens there (not yet, or no more). */
    static HttpResponse<String> get(HttpClient http, String url) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The status of GET {@code url}, or -1 while nothing listens there. */
    static int status(HttpClient http, String url) {
        HttpResponse<String> r = get(http, url);
        return r == null ? -1 : r.statusCode();
    }

    /** The inputs of {@code TinyModels.add()}: A + B = [2, 3, 4, 5]. */
    static final String ADD_INPUTS = """
            {"inputs": [
              {"name": "A", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]},
              {"name": "B", "datatype": "FP32", "shape": [1, 4], "data": [1, 1, 1, 1]}]}""";

    /** POSTs {@link #ADD_INPUTS} as JSON to {@code model}'s infer endpoint under {@code base}. */
    static HttpResponse<String> inferAdd(HttpClient http, String base, String model)
            throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(base + "/v2/models/" + model + "/infer"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(ADD_INPUTS))
                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Waits, up to two minutes, until the server under {@code base} says it is ready. */
    static void awaitReady(HttpClient http, String base) {
        await("ready").atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(100))
                .until(() -> status(http, base + "/q/health/ready") == 200);
    }

    /** A port nobody listens on now. */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
