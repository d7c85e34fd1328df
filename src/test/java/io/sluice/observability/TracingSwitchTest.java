package io.sluice.observability;

import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code quarkus.otel.sdk.disabled} turns Sluice's own spans off, not only their export: a disabled
 * OpenTelemetry SDK still records every span it is asked for.
 */
class TracingSwitchTest {

    private final InMemorySpanExporter exported = InMemorySpanExporter.create();
    private final SdkTracerProvider provider = SdkTracerProvider.builder()
            .addSpanProcessor(SimpleSpanProcessor.create(exported)).build();

    @AfterEach
    void close() {
        provider.close();
    }

    @Test
    void withTheSdkOnARequestAndItsBatchMakeFiveSpans() {
        oneRequestThroughOneBatch(new Tracing(provider.get("test"), false));

        assertThat(exported.getFinishedSpanItems()).extracting(SpanData::getName).containsExactlyInAnyOrder(
                "sluice.admission", "sluice.queue", "onnx.run", "sluice.batch", "sluice.infer");
    }

    @Test
    void withTheSdkDisabledNoSpanIsMadeAtAll() {
        Tracing.RequestTrace trace = oneRequestThroughOneBatch(new Tracing(provider.get("test"), true));

        assertThat(exported.getFinishedSpanItems()).isEmpty();
        assertThat(trace.recording()).isFalse();
    }

    private static Tracing.RequestTrace oneRequestThroughOneBatch(Tracing tracing) {
        Tracing.RequestTrace trace = tracing.request("m", "1");
        trace.admitted();
        tracing.traced("m", "1", (inputs, outputs, traces) -> List.of()).run(List.of(), List.of(), List.of(trace));
        trace.end(null);
        return trace;
    }
}
