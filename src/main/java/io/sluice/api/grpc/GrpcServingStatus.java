package io.sluice.api.grpc;

import grpc.health.v1.HealthOuterClass.HealthCheckResponse.ServingStatus;
import io.quarkus.grpc.runtime.health.GrpcHealthStorage;
import io.quarkus.runtime.ShutdownDelayInitiatedEvent;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.sluice.inference.InferenceService;
import io.sluice.model.ModelStateChanged;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;

/**
 * The standard {@code grpc.health.v1.Health} service's answer, which a Kubernetes {@code grpc:} probe reads: SERVING
 * only while the server is ready as {@code /v2/health/ready} and gRPC {@code ServerReady} say (every required model
 * READY, not shutting down), for the whole server ({@code ""}) and for {@code inference.GRPCInferenceService}.
 * Quarkus sets it SERVING once its gRPC server starts and never changes it; here it follows every model's state
 * change, and turns NOT_SERVING when the shutdown (or its delay) begins.
 */
@ApplicationScoped
public class GrpcServingStatus {
    static final String INFERENCE = "inference.GRPCInferenceService";

    /** Absent with {@code quarkus.grpc.server.health.enabled=false}: then there is nothing to tell. */
    @Inject
    Instance<GrpcHealthStorage> health;

    @Inject
    InferenceService service;

    /** Set once the shutdown (or its delay) begins: no model's state change may turn the answer back to SERVING. */
    private boolean stopping; // guarded by this

    void onStart(@Observes StartupEvent event) {
        refresh();
    }

    void onModelState(@Observes ModelStateChanged event) {
        refresh();
    }

    synchronized void onShutdownDelay(@Observes ShutdownDelayInitiatedEvent event) {
        stopping = true; // the registry's own flag may be set after this observer
        publish(false);
    }

    synchronized void onShutdown(@Observes ShutdownEvent event) {
        stopping = true;
        publish(false);
    }

    /**
     * Reads readiness and publishes it under one lock: two loaders whose models turn READY at once each read it,
     * and a reading taken before the other's change can no longer land after the other's, leaving NOT_SERVING on a
     * ready server for good.
     */
    private synchronized void refresh() {
        publish(!stopping && service.ready());
    }

    private synchronized void publish(boolean ready) {
        if (!health.isResolvable()) {
            return;
        }
        ServingStatus status = ready ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
        health.get().setStatus(GrpcHealthStorage.DEFAULT_SERVICE_NAME, status);
        health.get().setStatus(INFERENCE, status);
    }
}
