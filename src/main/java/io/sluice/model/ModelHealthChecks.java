package io.sluice.model;

import io.sluice.config.SluiceConfig;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Inject;
import java.util.List;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Liveness;
import org.eclipse.microprofile.health.Readiness;
import org.eclipse.microprofile.health.Startup;

/**
 * SmallRye Health checks derived from the model lifecycle: startup is up once every required model has
 * settled (READY or FAILED), whatever the others are doing; readiness is up once every required model has
 * settled with a READY version, until the shutdown begins. Both list each model's state, and the reason of a FAILED one.
 * Liveness is down while a required model has only FAILED versions (unless {@code
 * sluice.repository.restart-on-failed-load=false}), since only a restart loads it again.
 */
@ApplicationScoped
public class ModelHealthChecks {

    @Inject
    ModelRegistry registry;

    @Inject
    SluiceConfig config;

    @Produces
    @Readiness
    HealthCheck modelsReady() {
        return () -> report("models", registry.requiredReady());
    }

    @Produces
    @Startup
    HealthCheck modelsLoaded() {
        return () -> report("model-loading", registry.requiredSettled());
    }

    @Produces
    @Liveness
    HealthCheck requiredModelsLoadable() {
        return () -> {
            List<String> failed = config.repository().restartOnFailedLoad() ? registry.requiredFailed() : List.of();
            HealthCheckResponseBuilder builder = HealthCheckResponse.named("required-models").status(failed.isEmpty());
            for (ServedModel m : registry.all()) {
                if (failed.contains(m.name())) {
                    builder.withData(m.name() + "/" + m.version(), m.state() + ": " + m.reason());
                }
            }
            return builder.build();
        };
    }

    private HealthCheckResponse report(String name, boolean up) {
        HealthCheckResponseBuilder builder = HealthCheckResponse.named(name).status(up);
        for (ServedModel m : registry.all()) {
            String value = m.reason() == null ? m.state().name() : m.state() + ": " + m.reason();
            builder.withData(m.name() + "/" + m.version(), value);
        }
        return builder.build();
    }
}
