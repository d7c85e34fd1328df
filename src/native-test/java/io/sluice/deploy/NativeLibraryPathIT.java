package io.sluice.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.fixtures.TinyModels;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The packaged artifact loads ONNX Runtime from a directory named by {@code onnxruntime.native.path},
 * as {@code Dockerfile.native}'s CPU image does from {@code /work}: the directory holds the three
 * libraries that image copies out of the build's ONNX Runtime jar (no CUDA or TensorRT provider), and
 * the server must load the core and JNI libraries from there, not from copies it extracts to the
 * temporary directory, and serve. Linux's {@code /proc/<pid>/maps} says which files the process mapped.
 */
class NativeLibraryPathIT {

    /** The libraries {@code Dockerfile.native}'s {@code runtime-cpu} stage copies to {@code /work}. */
    static final List<String> CPU_LIBRARIES =
            List.of("libonnxruntime.so", "libonnxruntime4j_jni.so", "libonnxruntime_providers_shared.so");
    /** The two that {@code onnxruntime.native.path} decides; ONNX Runtime extracts the provider library itself. */
    private static final List<String> CORE_LIBRARIES = CPU_LIBRARIES.subList(0, 2);

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private Process server;
    private final List<Path> scratch = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        if (server != null && server.isAlive()) {
            server.destroyForcibly().waitFor();
        }
        for (Path dir : scratch) { // 24 MB of libraries each run
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(file);
                }
            }
        }
    }

    @Test
    void onnxRuntimeLoadsFromTheNamedDirectoryAndServes() throws Exception {
        Path libraries = Files.createTempDirectory("sluice-ort-natives");
        scratch.add(libraries);
        for (String library : CPU_LIBRARIES) {
            copyFromOnnxRuntimeJar(library, libraries.resolve(library));
        }
        Path tmp = Files.createTempDirectory("sluice-ort-tmp");
        scratch.add(tmp);
        Path repo = TinyModels.newRepository("sluice-native-path-it");
        TinyModels.write(repo, "add", 1, TinyModels.add());
        int port = PackagedArtifact.freePort();
        server = PackagedArtifact.start(port, List.of(
                "-Dsluice.repository.paths=" + repo,
                "-Donnxruntime.native.path=" + libraries,
                "-Djava.io.tmpdir=" + tmp), Path.of("target", "native-library-path-it.log"));
        String base = "http://127.0.0.1:" + port;
        PackagedArtifact.awaitReady(http, base);

        HttpResponse<String> answer = PackagedArtifact.inferAdd(http, base, "add");
        assertThat(answer.statusCode()).as("inference: %s", answer.body()).isEqualTo(200);
        assertThat(answer.body().replace(" ", "")).contains("\"data\":[2.0,3.0,4.0,5.0]");

        List<String> mapped = mappedFiles(server.pid());
        for (String library : CORE_LIBRARIES) {
            assertThat(mapped).as("%s mapped from %s", library, libraries)
                    .filteredOn(file -> Path.of(file).getFileName().toString().equals(library))
                    .isNotEmpty()
                    .allSatisfy(file -> assertThat(Path.of(file).getParent()).isEqualTo(libraries));
        }
        try (Stream<Path> extracted = Files.walk(tmp)) {
            assertThat(extracted.map(p -> p.getFileName().toString()))
                    .as("no core library extracted to java.io.tmpdir").doesNotContainAnyElementsOf(CORE_LIBRARIES);
        }
    }

    /** The files the process has mapped, from {@code /proc/<pid>/maps} (the sixth field, where there is one). */
    private static List<String> mappedFiles(long pid) throws IOException {
        try (Stream<String> lines = Files.lines(Path.of("/proc", Long.toString(pid), "maps"))) {
            return lines.map(line -> line.split("\\s+", 6)).filter(fields -> fields.length == 6)
                    .map(fields -> fields[5].trim()).filter(file -> file.startsWith("/")).distinct().toList();
        }
    }

    /** Copies one library out of the ONNX Runtime jar on this test's class path, the jar the build packaged. */
    private static void copyFromOnnxRuntimeJar(String library, Path to) throws IOException {
        String resource = "ai/onnxruntime/native/linux-x64/" + library;
        try (InputStream in = Objects.requireNonNull(
                NativeLibraryPathIT.class.getClassLoader().getResourceAsStream(resource), resource)) {
            Files.copy(in, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
