package io.sluice.admission;

import io.quarkus.test.junit.QuarkusTestProfile;
import io.sluice.RedisResource;
import io.sluice.fixtures.TinyModels;
import java.nio.file.Path;
import java.util.HashMap;
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
        Map<String, String> config = new HashMap<>();
        config.put("sluice.repository.paths", repo.toString());
        config.put("sluice.models.corrupt.required", "false");
        config.put("sluice.models.identity_uint16.required", "false");
        config.put("sluice.models.identity_uint32.required", "false");
        config.put("sluice.models.identity_uint64.required", "false");
        config.put("sluice.auth.enabled", "true");
        config.put("sluice.rate-limit.enabled", "true");
        config.put("sluice.rate-limit.store", "redis");
        config.put("sluice.rate-limit.redis.timeout", "500ms");
        config.put("sluice.rate-limit.redis.retry-interval", "100ms");
        limited(config, "rest", REST_KEY, 2);
        limited(config, "grpc", GRPC_KEY, 2);
        config.put("sluice.tenants.per-model.api-key-sha256", Tenants.sha256(MODEL_KEY));
        config.put("sluice.tenants.per-model.models.identity_fp32.rate", "0.01");
        config.put("sluice.tenants.per-model.models.identity_fp32.burst", "1");
        limited(config, "outage", OUTAGE_KEY, 3);
        config.put("sluice.tenants.open.api-key-sha256", Tenants.sha256(OPEN_KEY));
        config.put("sluice.tenants.other-open.api-key-sha256", Tenants.sha256(OTHER_OPEN_KEY));
        limited(config, "one-token", ONE_TOKEN_KEY, 1);
        limited(config, "counted", COUNTED_KEY, 1);
        limited(config, "refunded", REFUNDED_KEY, 1);
        limited(config, "refunded-in-outage", REFUNDED_IN_OUTAGE_KEY, 1);
        // the response cache, both tiers, with small bounds the cache tests can cross
        config.put("sluice.model-defaults.cache.enabled", "true");
        config.put("sluice.models.identity_int8.cache.enabled", "false");
        // the tier tests read one request as one stored entry; matmul keeps the default of 2
        config.put("sluice.model-defaults.cache.min-uses", "1");
        config.put("sluice.models.matmul.cache.min-uses", "2");
        config.put("sluice.cache.l1.max-bytes", "16384");
        config.put("sluice.cache.l1.ttl", "3s");
        config.put("sluice.cache.l2.enabled", "true");
        config.put("sluice.cache.l2.max-entry-bytes", "65536");
        config.put("sluice.cache.l2.ttl", "10m");
        config.put("sluice.cache.l2.timeout", "500ms");
        config.put("sluice.cache.l2.retry-interval", "100ms");
        config.put("sluice.models.slow.batching.max-batch-size", "1");
        return config;
    }

    /** A tenant with {@code key} and a bucket of {@code burst} that refills at 0.01 tokens a second. */
    private static void limited(Map<String, String> config, String tenant, String key, int burst) {
        config.put("sluice.tenants." + tenant + ".api-key-sha256", Tenants.sha256(key));
        config.put("sluice.tenants." + tenant + ".rate-limit.rate", "0.01");
        config.put("sluice.tenants." + tenant + ".rate-limit.burst", Integer.toString(burst));
    }

    @Override
    public List<TestResourceEntry> testResources() {
        return List.of(new TestResourceEntry(RedisResource.class));
    }
}
