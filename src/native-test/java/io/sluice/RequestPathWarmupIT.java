package io.sluice;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusIntegrationTest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The request path's warmup ({@code io.sluice.inference.WireWarmup}: the guard, then REST's and gRPC's own parsing and
 * writing) succeeds inside the packaged artifact, where a class or method missing from a native image would surface
 * as a {@link LinkageError}. Warmup logs such a failure and serves on, so only its log tells: the artifact's output,
 * which the integration tests write to {@code target/quarkus.log}.
 */
@QuarkusIntegrationTest
class RequestPathWarmupIT {

    @Test
    void everyModelWarmedItsRequestPathWithoutAFailure() throws IOException {
        Await.serverReady();
        String log = Files.readString(Path.of("target", "quarkus.log"), StandardCharsets.UTF_8);
        assertThat(log).as("this launch's output").contains("READY on");
        assertThat(log).doesNotContain("warmup failed").doesNotContain("no request for the adapters' warmup");
    }
}
