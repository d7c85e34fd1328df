package io.sluice.admission;

import io.quarkus.test.junit.QuarkusTestProfile;
import io.sluice.RedisResource;
import io.sluice.fixtures.TinyModels;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Auth on, buckets shared in a real Redis, and tenants whose buckets refill so slowly (one token per
 * 100 s) that every count in a test is exact.
 */
public class RateLimitProfile implements QuarkusTestProfile {

    /** API keys of the tenants; the configuration holds only their hashes. */
    static final String REST_KEY = "rest-key";
    static final String GRPC_KEY = "grpc-key";
    static final String MODEL_KEY = "model-key";
    static final String OUTAGE_KEY = "outage-key";
    /** A tenant with no bucket at all, and one with a single token, for the cache tests. */
    public static final String OPEN_KEY = "open-key";
    /** A second tenant with no bucket, for the cache's tenant isolation. */
    public static final String OTHER_OPEN_KEY = "other-open-key";
    public static final String ONE_TOKEN_KEY = "one-token-key";
    /** A tenant with one token that only the tenant-counter test uses. */
    static final String COUNTED_KEY = "counted-key";
    /** A tenant with one token, for the token a 503 gives back. */
    static final String REFUNDED_KEY = "refunded-key";
    /** The same, for the outage test: its token comes from the fallback bucket while Redis is away. */
    static final String REFUNDED_IN_OUTAGE_KEY = "refunded-in-outage-key";

    @Override
    public Map<String, String> getConfigOverrides() {
        Path repo = TinyModels.newRepository("sluice-rate-limit");
        TinyModels.writeStandard(repo);
        TinyModels.write(repo, "slow", 1, TinyModels.slow(2000));
        return Map.ofEntries(
                Map.entry("sluice.repository.paths", repo.toString()),
                Map.entry("sluice.models.corrupt.required", "false"),
                Map.entry("sluice.models.identity_uint16.required", "false"),
                Map.entry("sluice.models.identity_uint32.required", "false"),
                Map.entry("sluice.models.identity_uint64.required", "false"),
                Map.entry("sluice.auth.enabled", "true"),
                Map.entry("sluice.rate-limit.enabled", "true"),
                Map.entry("sluice.rate-limit.store", "redis"),
                Map.entry("sluice.rate-limit.redis.timeout", "500ms"),
                Map.entry("sluice.rate-limit.redis.retry-interval", "100ms"),
                Map.entry("sluice.tenants.rest.api-key-sha256", Tenants.sha256(REST_KEY)),
                Map.entry("sluice.tenants.rest.rate-limit.rate", "0.01"),
                Map.entry("sluice.tenants.rest.rate-limit.burst", "2"),
                Map.entry("sluice.tenants.grpc.api-key-sha256", Tenants.sha256(GRPC_KEY)),
                Map.entry("sluice.tenants.grpc.rate-limit.rate", "0.01"),
                Map.entry("sluice.tenants.grpc.rate-limit.burst", "2"),
                Map.entry("sluice.tenants.per-model.api-key-sha256", Tenants.sha256(MODEL_KEY)),
                Map.entry("sluice.tenants.per-model.models.identity_fp32.rate", "0.01"),
                Map.entry("sluice.tenants.per-model.models.identity_fp32.burst", "1"),
                Map.entry("sluice.tenants.outage.api-key-sha256", Tenants.sha256(OUTAGE_KEY)),
                Map.entry("sluice.tenants.outage.rate-limit.rate", "0.01"),
                Map.entry("sluice.tenants.outage.rate-limit.burst", "3"),
                Map.entry("sluice.tenants.open.api-key-sha256", Tenants.sha256(OPEN_KEY)),
                Map.entry("sluice.tenants.other-open.api-key-sha256", Tenants.sha256(OTHER_OPEN_KEY)),
                Map.entry("sluice.tenants.one-token.api-key-sha256", Tenants.sha256(ONE_TOKEN_KEY)),
                Map.entry("sluice.tenants.one-token.rate-limit.rate", "0.01"),
                Map.entry("sluice.tenants.one-token.rate-limit.burst", "1"),
                Map.entry("sluice.tenants.counted.api-key-sha256", Tenants.sha256(COUNTED_KEY)),
                Map.entry("sluice.tenants.counted.rate-limit.rate", "0.01"),
                Map.entry("sluice.tenants.counted.rate-limit.burst", "1"),
                Map.entry("sluice.tenants.refunded.api-key-sha256", Tenants.sha256(REFUNDED_KEY)),
                Map.entry("sluice.tenants.refunded.rate-limit.rate", "0.01"),
                Map.entry("sluice.tenants.refunded.rate-limit.burst", "1"),
                Map.entry("sluice.tenants.refunded-in-outage.api-key-sha256", Tenants.sha256(REFUNDED_IN_OUTAGE_KEY)),
                Map.entry("sluice.tenants.refunded-in-outage.rate-limit.rate", "0.01"),
                Map.entry("sluice.tenants.refunded-in-outage.rate-limit.burst", "1"),
                // the response cache, both tiers, with small bounds the cache tests can cross
                Map.entry("sluice.model-defaults.cache.enabled", "true"),
                Map.entry("sluice.models.identity_int8.cache.enabled", "false"),
                // the tier tests read one request as one stored entry; matmul keeps the default of 2
                Map.entry("sluice.model-defaults.cache.min-uses", "1"),
                Map.entry("sluice.models.matmul.cache.min-uses", "2"),
                Map.entry("sluice.cache.l1.max-bytes", "16384"),
                Map.entry("sluice.cache.l1.ttl", "3s"),
                Map.entry("sluice.cache.l2.enabled", "true"),
                Map.entry("sluice.cache.l2.max-entry-bytes", "65536"),
                Map.entry("sluice.cache.l2.ttl", "10m"),
                Map.entry("sluice.cache.l2.timeout", "500ms"),
                Map.entry("sluice.cache.l2.retry-interval", "100ms"),
                Map.entry("sluice.models.slow.batching.max-batch-size", "1"));
    }

    @Override
    public List<TestResourceEntry> testResources() {
        return List.of(new TestResourceEntry(RedisResource.class));
    }
}
