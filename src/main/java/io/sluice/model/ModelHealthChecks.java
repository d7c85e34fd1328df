package io.sluice.model;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;
import org.eclipse.microprofile.health.Startup;

/**
 * SmallRye Health checks derived from the model lifecycle: startup is up once every required model has
 * settled (READY or FAILED), whatever the others are doing; readiness is up once every required model has
 * settled with a READY version, until the shutdown begins. Both list each model's state, and the reason of a FAILED one.
 */
@ApplicationScoped
public class ModelHealthChecks {

    @Inject
    ModelRegistry registry;

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

    private HealthCheckResponse report(String name, boolean up) {
        HealthCheckResponseBuilder builder = HealthCheckResponse.named(name).status(up);
        for (ServedModel m : registry.all()) {
            String value = m.reason() == null ? m.state().name() : m.state() + ": " + m.reason();
            builder.withData(m.name() + "/" + m.version(), value);
        }
        return builder.build();
    }
}
