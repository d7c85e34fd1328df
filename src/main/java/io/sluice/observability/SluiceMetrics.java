package io.sluice.observability;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.sluice.inference.InferenceException;
import io.sluice.inference.Protocol;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * Records Sluice's meters. Histograms publish buckets (so {@code histogram_quantile} works) with
 * fixed service-level boundaries from 0.25 ms (a tiny model's whole path, a cache hit) to 60 s (the
 * default {@code admission.timeout}).
 */
@ApplicationScoped
public class SluiceMetrics {

    private static final Duration[] LATENCY_BUCKETS = {
        Duration.ofNanos(250_000), Duration.ofNanos(500_000), Duration.ofMillis(1), Duration.ofMillis(2),
        Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50),
        Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1),
        Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30),
        Duration.ofSeconds(60)
    };

    /** The reasons a rejection is counted under; see {@link #rejectionReason}. */
    private static final List<String> REJECTION_REASONS = Stream.concat(Stream.of("rate_limited", "deadline"),
            Arrays.stream(InferenceException.Unavailable.Reason.values())
                    .map(r -> r.name().toLowerCase(Locale.ROOT))).toList();

    @Inject
    MeterRegistry registry;

    /** Meters already registered, by name and tag values: the request path looks them up without building ids. */
    private final Map<List<Object>, Object> meters = new ConcurrentHashMap<>();

    @SuppressWarnings("unchecked")
    private <M> M meter(List<Object> key, Supplier<M> register) {
        Object m = meters.get(key);
        if (m == null) {
            m = meters.computeIfAbsent(key, k -> register.get());
        }
        return (M) m;
    }

    /**
     * Registers a served model's request and rejection counters at 0, for both protocols, every outcome
     * the request path gives and every rejection reason: a counter that first appears at its first
     * increment hides that increment from {@code increase()} and {@code rate()}, and an alert such as
     * SluiceCircuitOpen would miss a first short episode. For each of {@code tenants}, its successes and
     * rate-limited requests of the model too.
     */
    public void modelCounters(String model, Collection<String> tenants) {
        for (String tenant : tenants) { // the two a quota is read by; the other outcomes appear at their first
            tenantRequests(tenant, model, Outcome.SUCCESS);
            tenantRequests(tenant, model, Outcome.RATE_LIMITED);
        }
        for (Protocol protocol : List.of(Protocol.REST, Protocol.GRPC)) {
            for (Outcome outcome : Outcome.values()) {
                if (outcome != Outcome.UNAUTHENTICATED) { // answered before the request path, never counted here
                    requests(model, protocol, outcome);
                }
            }
        }
        REJECTION_REASONS.forEach(reason -> rejections(model, reason));
    }

    private Counter requests(String model, Protocol protocol, Outcome outcome) {
        return meter(List.of(MetricNames.REQUESTS, model, protocol, outcome), () -> Counter.builder(MetricNames.REQUESTS)
                .tags(MetricNames.MODEL, model, MetricNames.PROTOCOL, protocol.tag(), MetricNames.OUTCOME, outcome.tag())
                .register(registry));
    }

    private Counter tenantRequests(String tenant, String model, Outcome outcome) {
        return meter(List.of(MetricNames.TENANT_REQUESTS, tenant, model, outcome), () -> Counter
                .builder(MetricNames.TENANT_REQUESTS)
                .tags(MetricNames.TENANT, tenant, MetricNames.MODEL, model, MetricNames.OUTCOME, outcome.tag())
                .register(registry));
    }

    /** Counts one finished request of {@code tenant}. */
    public void tenantRequest(String tenant, String model, Outcome outcome) {
        tenantRequests(tenant, model, outcome).increment();
    }

    private Counter rejections(String model, String reason) {
        return meter(List.of(MetricNames.REJECTIONS, model, reason), () -> Counter
                .builder(MetricNames.REJECTIONS).tags(MetricNames.MODEL, model, MetricNames.REASON, reason)
                .register(registry));
    }

    /** Counts one finished request and records its time in the server. */
    public void request(String model, Protocol protocol, Outcome outcome, long nanos) {
        requests(model, protocol, outcome).increment();
        Timer duration = meter(List.of(MetricNames.REQUEST_DURATION, model, protocol), () -> Timer.builder(MetricNames.REQUEST_DURATION)
                .tags(MetricNames.MODEL, model, MetricNames.PROTOCOL, protocol.tag())
                .serviceLevelObjectives(LATENCY_BUCKETS)
                .register(registry));
        duration.record(nanos, TimeUnit.NANOSECONDS);
    }

    /** Counts one rejection: a 429, a 503 (not ready, bulkhead or queue full, circuit open) or a passed deadline. */
    public void rejection(String model, Throwable failure) {
        String reason = rejectionReason(failure);
        if (reason == null) {
            return;
        }
        rejections(model, reason).increment();
    }

    /** The {@code reason} tag of a rejection; null when {@code failure} is not one. */
    private static String rejectionReason(Throwable failure) {
        if (failure instanceof InferenceException.RateLimited) {
            return "rate_limited";
        } else if (failure instanceof InferenceException.Unavailable u) {
            return u.reason().name().toLowerCase(Locale.ROOT);
        } else if (failure instanceof InferenceException.DeadlineExceeded) {
            return "deadline";
        }
        return null;
    }

    /** Records one batch run. */
    public void batch(String model, int rows, long nanos) {
        DistributionSummary size = meter(List.of(MetricNames.BATCH_SIZE, model), () -> DistributionSummary
                .builder(MetricNames.BATCH_SIZE).tags(MetricNames.MODEL, model)
                .serviceLevelObjectives(1, 2, 4, 8, 16, 32, 64, 128)
                .register(registry));
        size.record(rows);
        Timer compute = meter(List.of(MetricNames.COMPUTE_DURATION, model), () -> Timer
                .builder(MetricNames.COMPUTE_DURATION).tags(MetricNames.MODEL, model)
                .serviceLevelObjectives(LATENCY_BUCKETS)
                .register(registry));
        compute.record(nanos, TimeUnit.NANOSECONDS);
    }

    /** Records how long one request waited in its model's queue. */
    public void queueWait(String model, long nanos) {
        Timer wait = meter(List.of(MetricNames.QUEUE_DURATION, model), () -> Timer
                .builder(MetricNames.QUEUE_DURATION).tags(MetricNames.MODEL, model)
                .serviceLevelObjectives(LATENCY_BUCKETS)
                .register(registry));
        wait.record(nanos, TimeUnit.NANOSECONDS);
    }

    /** Registers the queue and in-flight gauges of a model. */
    public void scheduler(String model, Supplier<Number> queueDepth, Supplier<Number> inflight) {
        gauge(MetricNames.QUEUE_DEPTH, Tags.of(MetricNames.MODEL, model), queueDepth);
        gauge(MetricNames.INFLIGHT, Tags.of(MetricNames.MODEL, model), inflight);
    }

    /** The ready gauge of each model version, by model and version. */
    private final Map<List<String>, Gauge> readyGauges = new ConcurrentHashMap<>();

    /**
     * Publishes whether a model version is ready, tagged with the provider that runs it. Registered when the
     * version is found (0 while it loads, tagged with the configured provider), so a model that never settles
     * shows too; when the provider in use turns out to differ (a GPU model that fell back to the CPU), the
     * series is replaced, so each version has one.
     */
    public synchronized void modelReady(String model, String version, String provider, Supplier<Boolean> ready) {
        List<String> key = List.of(model, version);
        Gauge old = readyGauges.get(key);
        if (old != null && provider.equals(old.getId().getTag(MetricNames.PROVIDER))) {
            return;
        }
        if (old != null) {
            registry.remove(old);
        }
        readyGauges.put(key, Gauge.builder(MetricNames.MODEL_READY, () -> ready.get() ? 1 : 0)
                .tags(MetricNames.MODEL, model, MetricNames.VERSION, version, MetricNames.PROVIDER, provider)
                .strongReference(true).register(registry));
    }

    /** Registers how many model versions the server found to serve ({@link MetricNames#MODEL_VERSIONS}). */
    public void modelVersions(int found) {
        gauge(MetricNames.MODEL_VERSIONS, Tags.empty(), () -> found);
    }

    /** Registers the load and warmup times of a model version, once it has settled. */
    public void modelTimes(String model, String version, Supplier<Double> loadSeconds, Supplier<Double> warmupSeconds) {
        // per version: tagged by model alone, the first version to settle would be the only one reported
        gauge(MetricNames.MODEL_LOAD, Tags.of(MetricNames.MODEL, model, MetricNames.VERSION, version), loadSeconds::get);
        gauge(MetricNames.MODEL_WARMUP, Tags.of(MetricNames.MODEL, model, MetricNames.VERSION, version),
                warmupSeconds::get);
    }

    /** A gauge that holds its supplier strongly (Micrometer's default is a weak reference). */
    private void gauge(String name, Tags tags, Supplier<Number> value) {
        Gauge.builder(name, value).tags(tags).strongReference(true).register(registry);
    }

    /** The reasons a call is refused for want of a key: none sent, or one no tenant has. */
    public static final List<String> UNAUTHENTICATED_REASONS = List.of("missing_key", "unknown_key", "conflicting_keys");

    /** Registers the counters of calls refused for want of a known key at 0, for both protocols and reasons. */
    public void unauthenticatedCounters() {
        for (Protocol protocol : List.of(Protocol.REST, Protocol.GRPC)) {
            UNAUTHENTICATED_REASONS.forEach(reason -> unauthenticatedCounter(protocol, reason));
        }
    }

    /** Counts one call refused for want of a known key; {@code reason} is one of {@link #UNAUTHENTICATED_REASONS}. */
    public void unauthenticated(Protocol protocol, String reason) {
        unauthenticatedCounter(protocol, reason).increment();
    }

    private Counter unauthenticatedCounter(Protocol protocol, String reason) {
        return meter(List.of(MetricNames.UNAUTHENTICATED, protocol, reason), () -> Counter
                .builder(MetricNames.UNAUTHENTICATED)
                .tags(MetricNames.PROTOCOL, protocol.tag(), MetricNames.REASON, reason)
                .register(registry));
    }

    /** Counts one take that used the local fallback bucket because Redis was unreachable or slow. */
    public void rateLimitFallback() {
        rateLimitFallbacks().increment();
    }

    /** The counter of rate-limit fallbacks. */
    public Counter rateLimitFallbacks() {
        return Counter.builder(MetricNames.RATE_LIMIT_FALLBACKS).register(registry);
    }

    /** The counter of connections asked to reconnect at their maximum age, of HTTP version {@code http} (1.1 or 2). */
    public Counter connectionsAged(String http) {
        return Counter.builder(MetricNames.CONNECTIONS_AGED).tag(MetricNames.HTTP, http).register(registry);
    }

    /** Publishes the permits a model version's bulkhead holds and how many it lets in at once. */
    public void bulkhead(String model, String version, Supplier<Number> held, Supplier<Number> limit) {
        Tags tags = Tags.of(MetricNames.MODEL, model, MetricNames.VERSION, version);
        gauge(MetricNames.BULKHEAD_HELD, tags, held);
        gauge(MetricNames.CONCURRENCY_LIMIT, tags, limit);
    }

    /** Counts one cache lookup of {@code tier} (l1, l2, inflight) with its {@code result} (hit, miss, error). */
    public void cache(String model, String tier, String result) {
        Counter lookups = meter(List.of(MetricNames.CACHE_REQUESTS, model, tier, result), () -> Counter
                .builder(MetricNames.CACHE_REQUESTS)
                .tags(MetricNames.MODEL, model, MetricNames.TIER, tier, MetricNames.RESULT, result)
                .register(registry));
        lookups.increment();
    }
}
