package io.sluice;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.contains;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.sluice.api.rest.LargeBodies;
import io.sluice.fixtures.TinyModels;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Alternative;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;

/**
 * A REST body that would hold an event loop up for long (here, a compressed one) is read off the event loop: while
 * it waits to be read, the server's only event loop answers another request; then it is read and answered.
 */
@QuarkusTest
@TestProfile(LargeBodyReadTest.Profile.class)
class LargeBodyReadTest {

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Path repo = TinyModels.newRepository("sluice-large-body");
            TinyModels.write(repo, "add", 1, TinyModels.add());
            return Map.of("sluice.repository.paths", repo.toString(), "quarkus.vertx.event-loops-pool-size", "1");
        }

        @Override
        public Set<Class<?>> getEnabledAlternatives() {
            return Set.of(GatedLargeBodies.class);
        }
    }

    /** The real readers, each of whose tasks waits for {@link #open} first. */
    @Alternative // selected by the profile alone
    @ApplicationScoped
    public static class GatedLargeBodies extends LargeBodies {
        static final CountDownLatch open = new CountDownLatch(1);
        static final AtomicInteger waiting = new AtomicInteger();

        @Override
        public Executor executor() {
            Executor readers = super.executor();
            return task -> {
                waiting.incrementAndGet();
                readers.execute(() -> {
                    try {
                        if (open.await(60, TimeUnit.SECONDS)) {
                            task.run();
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
            };
        }
    }

    private static final String BODY = """
            {"inputs": [
              {"name": "A", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]},
              {"name": "B", "datatype": "FP32", "shape": [1, 4], "data": [10, 20, 30, 40]}]}""";

    @Test
    void aCompressedBodyIsReadOffTheEventLoopWhichServesOthersMeanwhile() {
        Await.serverReady();
        CompletableFuture<Response> compressed = CompletableFuture.supplyAsync(() -> given().contentType(ContentType.JSON)
                .header("Content-Encoding", "gzip").body(gzip(BODY)).post("/v2/models/add/infer"));
        await().atMost(Duration.ofSeconds(30)).until(() -> GatedLargeBodies.waiting.get() == 1);

        // the one event loop is free: a plain request is answered while the compressed one waits to be read
        given().contentType(ContentType.JSON).body(BODY).post("/v2/models/add/infer")
                .then().statusCode(200).body("outputs.find { it.name == 'SUM' }.data", contains(11f, 22f, 33f, 44f));
        assertThat(compressed).isNotDone();
        assertThat(GatedLargeBodies.waiting.get()).isEqualTo(1);

        GatedLargeBodies.open.countDown();
        compressed.join().then().statusCode(200)
                .body("outputs.find { it.name == 'SUM' }.data", contains(11f, 22f, 33f, 44f))
                .body("outputs.find { it.name == 'DIFF' }.data", contains(-9f, -18f, -27f, -36f));
    }

    private static byte[] gzip(String text) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(text.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
