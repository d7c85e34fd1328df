package io.sluice.observability;

/** Every Sluice meter name, in one place (Prometheus adds {@code _total}, {@code _seconds} suffixes as usual). */
public final class MetricNames {

    /** Counter of finished requests, tagged model, protocol, outcome. */
    public static final String REQUESTS = "sluice.requests";
    /**
     * Counter of finished requests by who sent them, tagged tenant, model, outcome: each tenant's traffic, and
     * which tenant its rate limit turns away ({@code outcome="rate_limited"}).
     */
    public static final String TENANT_REQUESTS = "sluice.tenant.requests";
    /** Counter of requests turned away before running, tagged model, reason. */
    public static final String REJECTIONS = "sluice.rejections";
    /** Timer of whole requests inside the server, tagged model, protocol. */
    public static final String REQUEST_DURATION = "sluice.request.duration";
    /** Timer of the time each request waited in its model's queue, tagged model. */
    public static final String QUEUE_DURATION = "sluice.queue.duration";
    /** Timer of model runs (one per batch), tagged model. */
    public static final String COMPUTE_DURATION = "sluice.compute.duration";
    /** Distribution of rows per batch, tagged model. */
    public static final String BATCH_SIZE = "sluice.batch.size";
    /** Gauge of queued requests, tagged model. */
    public static final String QUEUE_DEPTH = "sluice.queue.depth";
    /** Gauge of batches running, tagged model. */
    public static final String INFLIGHT = "sluice.inflight";
    /**
     * Counter of calls refused for want of a known API key (401 or UNAUTHENTICATED), tagged protocol, reason
     * ({@code missing_key}, {@code unknown_key}, {@code conflicting_keys}); 0 with authentication off.
     */
    public static final String UNAUTHENTICATED = "sluice.unauthenticated";
    /** Counter of rate-limit takes that used the local fallback because Redis was away. */
    public static final String RATE_LIMIT_FALLBACKS = "sluice.rate.limit.fallbacks";
    /**
     * Counter of client connections asked to reconnect because they reached {@code sluice.server.max-connection-age},
     * tagged http ({@code 1.1}: {@code Connection: close}; {@code 2}: GOAWAY).
     */
    public static final String CONNECTIONS_AGED = "sluice.connections.aged";
    /** Gauge of requests each model version's bulkhead admitted and that have not finished, tagged model, version. */
    public static final String BULKHEAD_HELD = "sluice.bulkhead.held";
    /**
     * Gauge of requests each model version lets in at once, tagged model, version: the bulkhead's capacity; while it
     * sheds, the requests running plus the shedding queue; the adaptive limit when it is on and lower.
     */
    public static final String CONCURRENCY_LIMIT = "sluice.concurrency.limit";
    /** Counter of response-cache lookups, tagged model, tier (l1, l2, inflight), result (hit, miss, error). */
    public static final String CACHE_REQUESTS = "sluice.cache.requests";
    /**
     * Gauge of the model versions the server found to serve at startup (FAILED ones too), untagged: 0 is a server
     * that can never be ready (an empty volume over the repository, a wrong path), which no per-model series shows.
     */
    public static final String MODEL_VERSIONS = "sluice.model.versions";
    /** Gauge, 1 when READY, tagged model, version, provider. */
    public static final String MODEL_READY = "sluice.model.ready";
    /** Gauge of the session load time in seconds, tagged model, version. */
    public static final String MODEL_LOAD = "sluice.model.load.seconds";
    /** Gauge of the warmup time in seconds, tagged model, version. */
    public static final String MODEL_WARMUP = "sluice.model.warmup.seconds";

    /** Tag keys. */
    public static final String MODEL = "model";
    public static final String TENANT = "tenant";
    public static final String VERSION = "version";
    public static final String PROVIDER = "provider";
    public static final String PROTOCOL = "protocol";
    public static final String OUTCOME = "outcome";
    public static final String REASON = "reason";
    public static final String TIER = "tier";
    public static final String RESULT = "result";
    public static final String HTTP = "http";

    private MetricNames() {}
}
