package io.sluice.observability;

import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.ReadWriteSpan;
import io.opentelemetry.sdk.trace.ReadableSpan;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.SpanProcessor;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
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

    @Test
    void aRequestEndedBeforeItsWorkStartedLeavesNoQueueSpanOpen() {
        Set<String> open = ConcurrentHashMap.newKeySet();
        SdkTracerProvider tracked = SdkTracerProvider.builder().addSpanProcessor(new SpanProcessor() {
            @Override
            public void onStart(Context parent, ReadWriteSpan span) {
                open.add(span.getName());
            }

            @Override
            public boolean isStartRequired() {
                return true;
            }

            @Override
            public void onEnd(ReadableSpan span) {
                open.remove(span.getName());
            }

            @Override
            public boolean isEndRequired() {
                return true;
            }
        }).build();
        try {
            Tracing.RequestTrace trace = new Tracing(tracked.get("test"), false).request("m", "1", Context.root());
            trace.end(null); // the client cancelled while the guard was starting its work
            trace.admitted(); // which then started anyway (ModelGuard: released while it was being started)

            assertThat(open).isEmpty();
        } finally {
            tracked.close();
        }
    }

    private static Tracing.RequestTrace oneRequestThroughOneBatch(Tracing tracing) {
        Tracing.RequestTrace trace = tracing.request("m", "1");
        trace.admitted();
        tracing.traced("m", "1", (inputs, outputs, traces) -> List.of()).run(List.of(), List.of(), List.of(trace));
        trace.end(null);
        return trace;
    }
}
