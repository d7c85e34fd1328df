package io.sluice.observability;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.TracerProvider;
import io.opentelemetry.context.Context;
import io.sluice.batching.BatchRunner;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Sluice's spans. A request gets {@code sluice.infer} (child of the protocol's server span), with
 * {@code sluice.admission} and {@code sluice.queue} under it; each batch gets {@code sluice.batch},
 * linked both ways with the requests it ran, and {@code onnx.run} under it. Spans carry model,
 * version and batch size; a batch also the thread that ran it. With {@code quarkus.otel.sdk.disabled}
 * (the default outside tests) none is made.
 */
@ApplicationScoped
public class Tracing {

    static final AttributeKey<String> MODEL = AttributeKey.stringKey("sluice.model");
    static final AttributeKey<String> VERSION = AttributeKey.stringKey("sluice.model.version");
    static final AttributeKey<Long> BATCH_ROWS = AttributeKey.longKey("sluice.batch.size");
    static final AttributeKey<Long> BATCH_REQUESTS = AttributeKey.longKey("sluice.batch.requests");
    /** OpenTelemetry's {@code thread.name}: an instance thread, or the event loop that ran a tiny model's request itself. */
    static final AttributeKey<String> THREAD_NAME = AttributeKey.stringKey("thread.name");

    private final Tracer tracer;

    /**
     * @param sdk the application's tracer (quarkus-opentelemetry)
     * @param sdkDisabled {@code quarkus.otel.sdk.disabled}: then every span is a no-op. OpenTelemetry's
     *     SDK, when disabled, still records every span it is asked for and drops it at the end
     *     (open-telemetry/opentelemetry-java#8740), which would cost each request five spans, their
     *     attributes and links for nothing.
     */
    @Inject
    public Tracing(Tracer sdk,
            @ConfigProperty(name = "quarkus.otel.sdk.disabled", defaultValue = "false") boolean sdkDisabled) {
        this.tracer = sdkDisabled ? TracerProvider.noop().get("sluice") : sdk;
    }

    /** One request's spans, carried through the scheduler as the job's trace context. */
    public final class RequestTrace {
        private final Attributes attributes;
        private final Span request;
        private final Span admission;
        private Span queue; // guarded by this, as ended is
        private boolean ended;

        private RequestTrace(Attributes attributes, Span request, Span admission) {
            this.attributes = attributes;
            this.request = request;
            this.admission = admission;
        }

        /**
         * Admission is over (validated and queued): ends that span and starts the queue wait, unless the request
         * has already ended (cancelled while its work was being started), when a queue span would never end.
         */
        public synchronized void admitted() {
            admission.end();
            if (!ended) {
                queue = tracer.spanBuilder("sluice.queue").setParent(Context.current().with(request))
                        .setAllAttributes(attributes).startSpan();
            }
        }

        private synchronized void dequeued() {
            if (queue != null) {
                queue.end();
            }
        }

        /** Whether the request's span records anything (false with the SDK disabled). */
        boolean recording() {
            return request.isRecording();
        }

        /** Ends the request's spans, marking an error when {@code failure} is set. */
        public synchronized void end(Throwable failure) {
            ended = true;
            if (failure != null) {
                request.setStatus(StatusCode.ERROR, String.valueOf(failure.getMessage()));
            }
            admission.end();
            dequeued();
            request.end();
        }
    }

    /** Starts {@code sluice.infer} under the current (server) span, and {@code sluice.admission} under it. */
    public RequestTrace request(String model, String version) {
        return request(model, version, Context.current());
    }

    /** Starts {@code sluice.infer} under {@code parent}'s span, and {@code sluice.admission} under it. */
    public RequestTrace request(String model, String version, Context parent) {
        Attributes attributes = Attributes.of(MODEL, model, VERSION, version);
        Span request = tracer.spanBuilder("sluice.infer").setParent(parent).setAllAttributes(attributes).startSpan();
        Span admission = tracer.spanBuilder("sluice.admission").setParent(parent.with(request))
                .setAllAttributes(attributes).startSpan();
        return new RequestTrace(attributes, request, admission);
    }

    /**
     * Wraps {@code runner} so each batch runs inside {@code sluice.batch} and {@code onnx.run}: a trace of its own,
     * linked to its requests' spans, made only when one of them is sampled. A batch of requests none of whose
     * traces is kept (their callers said so in {@code traceparent}) would start a root span the sampler keeps.
     */
    public BatchRunner traced(String model, String version, BatchRunner runner) {
        return (inputs, outputs, traces) -> {
            boolean sampled = false;
            for (Object trace : traces) {
                if (trace instanceof RequestTrace t) {
                    sampled |= t.request.getSpanContext().isSampled();
                }
            }
            if (!sampled) {
                traces.forEach(trace -> {
                    if (trace instanceof RequestTrace t) {
                        t.dequeued();
                    }
                });
                return runner.run(inputs, outputs, traces);
            }
            long rows = inputs.isEmpty() || inputs.get(0).shape().length == 0 ? 1 : inputs.get(0).shape()[0];
            SpanBuilder builder = tracer.spanBuilder("sluice.batch").setNoParent()
                    .setAttribute(MODEL, model).setAttribute(VERSION, version)
                    .setAttribute(BATCH_ROWS, rows).setAttribute(BATCH_REQUESTS, (long) traces.size())
                    .setAttribute(THREAD_NAME, Thread.currentThread().getName());
            for (Object trace : traces) {
                if (trace instanceof RequestTrace t) {
                    t.dequeued();
                    builder.addLink(t.request.getSpanContext());
                }
            }
            Span batch = builder.startSpan();
            for (Object trace : traces) {
                if (trace instanceof RequestTrace t) {
                    t.request.addLink(batch.getSpanContext());
                    t.request.setAttribute(BATCH_ROWS, rows);
                }
            }
            Span run = tracer.spanBuilder("onnx.run").setParent(Context.root().with(batch))
                    .setAttribute(MODEL, model).setAttribute(BATCH_ROWS, rows).startSpan();
            try {
                return runner.run(inputs, outputs, traces);
            } catch (RuntimeException | Error e) {
                run.recordException(e);
                run.setStatus(StatusCode.ERROR);
                throw e;
            } finally {
                run.end();
                batch.end();
            }
        };
    }
}
