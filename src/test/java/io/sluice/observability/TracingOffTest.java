package io.sluice.observability;

import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.sluice.EmptyRepositoryTest;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

/**
 * With {@code quarkus.otel.sdk.disabled=true}, production's default, the container's {@link Tracing}
 * makes no span at all ({@link TracingSwitchTest} shows why that needs Sluice's own switch).
 */
@QuarkusTest
@TestProfile(EmptyRepositoryTest.Profile.class)
class TracingOffTest {

    @Inject
    Tracing tracing;

    @Inject
    InMemorySpanExporter spans;

    @Test
    void withTheSdkDisabledTheContainersTracingRecordsNothing() {
        Tracing.RequestTrace trace = tracing.request("m", "1");
        trace.admitted();
        trace.end(null);

        assertThat(trace.recording()).isFalse();
        assertThat(spans.getFinishedSpanItems()).isEmpty();
    }
}
