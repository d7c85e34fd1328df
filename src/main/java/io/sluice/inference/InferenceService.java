package io.sluice.inference;

import io.sluice.admission.RateLimiter;
import io.sluice.admission.Tenant;
import io.sluice.cache.ResponseCache;
import io.sluice.config.SluiceConfig;
import io.sluice.model.ModelRegistry;
import io.sluice.model.ModelState;
import io.sluice.model.ServedModel;
import io.sluice.observability.Outcome;
import io.sluice.observability.SluiceMetrics;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * The one protocol-neutral entry point. REST and gRPC adapters translate their wire format into
 * these calls and translate the results (and {@link InferenceException}s) back; nothing else about
 * serving lives in an adapter.
 */
@ApplicationScoped
public class InferenceService {

    private static final Logger LOG = Logger.getLogger(InferenceService.class);

    /** Protocol extensions this server supports, as listed by {@code GET /v2}. */
    public static final List<String> EXTENSIONS = List.of("binary_tensor_data");

    @Inject
    ModelRegistry registry;

    @Inject
    SluiceConfig config;

    @Inject
    SluiceMetrics metrics;

    @Inject
    RateLimiter rateLimiter;

    @Inject
    ResponseCache cache;

    /**
     * Runs {@code request} for {@code tenant}: its rate limit first, then the model. Every failure is an
     * {@link InferenceException} in the returned {@link Uni}.
     */
    public Uni<InferResponse> infer(Tenant tenant, InferRequest request) {
        long start = System.nanoTime();
        Uni<InferResponse> result = rateLimiter.enabled()
                ? rateLimiter.admit(tenant, request.model())
                        .onItem().transformToUni(state -> run(request).map(r -> r.withRateLimit(state)))
                : run(request);
        return result
                .onItemOrFailure().invoke((item, failure) -> {
                    if (failure != null) {
                        metrics.rejection(request.model(), failure);
                    }
                    finished(request, failure == null ? Outcome.SUCCESS : Outcome.of(failure), start);
                })
                .onCancellation().invoke(() -> finished(request, Outcome.CANCELLED, start));
    }

    /** The model, or its response cache when the model turned one on. */
    private Uni<InferResponse> run(InferRequest request) {
        try {
            ServedModel model = registry.ready(request.model(), request.version());
            return model.settings().cacheEnabled()
                    ? cache.serve(model.name(), model.version(), model.settings().cacheMinUses(), request, model::infer)
                    : model.infer(request);
        } catch (InferenceException e) {
            return Uni.createFrom().failure(e);
        }
    }

    /** Records one finished request: its metrics, and one log line at debug level. */
    private void finished(InferRequest request, Outcome outcome, long start) {
        long nanos = System.nanoTime() - start;
        metrics.request(request.model(), request.protocol(), outcome, nanos);
        if (LOG.isDebugEnabled()) {
            LOG.debugf("infer model=%s version=%s protocol=%s id=%s outcome=%s duration=%.3fms", request.model(),
                    request.version(), request.protocol().tag(), request.id(), outcome.tag(), nanos / 1e6);
        }
    }

    /** Server name, version and extensions. */
    public ServerMetadata serverMetadata() {
        return new ServerMetadata(config.server().name(), config.server().version(), EXTENSIONS);
    }

    /** True while the process runs. */
    public boolean live() {
        return true;
    }

    /** True once every required model is READY. */
    public boolean ready() {
        return registry.requiredReady();
    }

    /**
     * Metadata of a model version, read from its session.
     *
     * @throws InferenceException.ModelNotFound for an unknown model or version
     */
    public ModelMetadata modelMetadata(String model, String version) {
        ServedModel served = registry.find(model, version);
        return served.metadata(registry.versions(served.name()));
    }

    /**
     * Whether a model version is READY.
     *
     * @throws InferenceException.ModelNotFound for an unknown model or version
     */
    public boolean modelReady(String model, String version) {
        return registry.find(model, version).state() == ModelState.READY;
    }

    /**
     * What {@code GET /v2} returns.
     *
     * @param name server name
     * @param version server version
     * @param extensions supported protocol extensions
     */
    public record ServerMetadata(String name, String version, List<String> extensions) {}
}
