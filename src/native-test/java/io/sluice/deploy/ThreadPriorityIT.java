package io.sluice.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.fixtures.ProcThreads;
import io.sluice.fixtures.TinyModels;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The packaged artifact, JVM jar or native executable, runs each model's threads at the model's nice
 * value and its event loops at 0, as Linux reports them in {@code /proc/<pid>/task}. On the JVM
 * {@code ThreadNice} calls libc through JNA; in the native executable through {@code NativeThreadNice}
 * (a direct {@code @CFunction} call), which only this test, run against a native build, exercises.
 *
 * <p>Linux names a thread with 15 bytes of its Java name: HotSpot keeps the first 15, the native
 * image the last 15. The models here have one-letter names, so their threads' names fit whole.
 */
class ThreadPriorityIT {

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private Process server;

    @AfterEach
    void stop() {
        if (server != null && server.isAlive()) {
            server.destroyForcibly();
        }
    }

    @Test
    void modelThreadsRunAtTheirNiceValueAndEventLoopsAtZero() throws Exception {
        Path repo = TinyModels.newRepository("sluice-nice-it");
        TinyModels.write(repo, "a", 1, TinyModels.add());
        TinyModels.write(repo, "b", 1, TinyModels.add());
        int port = PackagedArtifact.freePort();
        Path log = Path.of("target", "thread-priority-it.log");
        server = PackagedArtifact.start(port, List.of(
                "-Dsluice.repository.paths=" + repo,
                // a pool of its own: ONNX Runtime starts 2 intra-op threads beside the caller as it creates the session
                "-Dsluice.models.a.threads.intra-op=3",
                "-Dsluice.models.b.threads.nice=0",
                "-Dsluice.models.b.batching.instances=1"), log);
        String base = "http://127.0.0.1:" + port;
        PackagedArtifact.awaitReady(http, base);
        for (String model : List.of("a", "b")) {
            assertThat(PackagedArtifact.inferAdd(http, base, model).statusCode()).as("inference on %s", model).isEqualTo(200);
        }

        List<ProcThreads.Task> tasks = ProcThreads.of(server.pid());
        assertThat(named(tasks, List.of("sluice-run-a-1", "sluice-run-a-2"))).as("a's instances")
                .extracting(ProcThreads.Task::nice).containsExactly(10, 10);
        // the session's intra-op pool took the name and nice value of the thread that created it
        assertThat(named(tasks, List.of("sluice-load-a"))).as("a's intra-op pool")
                .extracting(ProcThreads.Task::nice).containsExactly(10, 10);
        assertThat(named(tasks, List.of("sluice-run-b-1"))).as("b's instance")
                .extracting(ProcThreads.Task::nice).containsExactly(0);
        List<String> eventLoops = IntStream.range(0, 64).mapToObj(i -> "vert.x-eventloop-thread-" + i).toList();
        assertThat(named(tasks, eventLoops)).as("event loops").isNotEmpty().allSatisfy(t -> assertThat(t.nice()).isZero());
        assertThat(Files.readString(log)).as("no warning that priorities could not be set")
                .doesNotContain("model threads keep the default CPU priority");
    }

    /** The threads whose kernel name is one of {@code names} as Linux keeps it: the first or the last 15 bytes. */
    private static List<ProcThreads.Task> named(List<ProcThreads.Task> tasks, List<String> names) {
        return tasks.stream().filter(t -> names.stream().anyMatch(n -> n.length() <= 15 ? t.comm().equals(n)
                : t.comm().equals(n.substring(0, 15)) || t.comm().equals(n.substring(n.length() - 15)))).toList();
    }
}
