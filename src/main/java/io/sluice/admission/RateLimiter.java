package io.sluice.admission;

import io.quarkus.redis.client.RedisClientName;
import io.quarkus.runtime.Startup;
import io.quarkus.runtime.StartupEvent;
import io.sluice.config.BucketStore;
import io.sluice.config.RedisClients;
import io.sluice.config.SluiceConfig;
import io.sluice.inference.InferenceException;
import io.sluice.inference.RateLimitState;
import io.sluice.observability.SluiceMetrics;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.redis.client.Redis;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
import org.jboss.logging.Logger;

/**
 * Takes one token per request from the caller's bucket: the tenant's bucket for the model, else the
 * tenant's bucket, else {@code sluice.rate-limit.default}; a caller with none of them is not limited.
 *
 * <p>With {@code store=redis} the bucket is shared by all replicas. A take waits for Redis at most
 * {@code redis.timeout}; when Redis fails or is slow, the take goes to a local bucket holding this
 * replica's fair share ({@code rate / replicas}) and the fallback is counted. A failure, or
 * {@link SlowTakes#SLOW} of the last {@link SlowTakes#WINDOW} takes past the wait, mean Redis is away: every take
 * goes to the local bucket until Redis is tried again after {@code redis.retry-interval}. One slow answer (a pause
 * of the host) sends only its own take there. A token Redis takes after the wait is given back there, so that a
 * slow Redis does not charge a request twice, and so is one whose model could not serve it at all
 * ({@link RateLimitState#refund}). Sluice never fails closed because Redis is down. The replicas are
 * {@code redis.replicas} when it is set, else counted in Redis ({@link ReplicaCount}, every
 * {@link ReplicaCount#INTERVAL}), the last count holding while Redis is away.
 */
@ApplicationScoped
@Startup // a bucket configured wrong stops the start, instead of failing every request that needs it
public class RateLimiter {

    private static final Logger LOG = Logger.getLogger(RateLimiter.class);
    /** Admitted without a bucket: nothing to report. */
    private static final Uni<RateLimitState> UNLIMITED = Uni.createFrom().nullItem();

    private final boolean enabled;
    private final BucketStore store;
    private final SluiceConfig.RateLimit.Redis redisConfig;
    private final SluiceConfig config;
    private final SluiceMetrics metrics;
    private final Instance<Redis> redisClient;
    private final Map<String, Bucket> byPolicy = new ConcurrentHashMap<>();
    private volatile RedisBuckets redis;
    private volatile ReplicaCount replicaCount;
    /** Whether the warning of a fallback before any replica count has been logged. */
    private volatile boolean uncountedWarned;
    private final LongSupplier nanoClock = System::nanoTime;
    private volatile long redisRetryAtNanos = nanoClock.getAsLong(); // try Redis first
    /**
     * Which recent takes came back past {@code redis.timeout}. Each of those waited the bound, so a Redis that hangs
     * costs {@link SlowTakes#SLOW} requests the wait before the rest go straight to the local buckets.
     */
    private final SlowTakes slowTakes = new SlowTakes();

    @Inject
    public RateLimiter(SluiceConfig config, SluiceMetrics metrics,
            @RedisClientName(RedisClients.BUCKETS) Instance<Redis> redisClient) {
        this.config = config;
        this.enabled = config.rateLimit().enabled();
        this.store = config.rateLimit().store();
        this.redisConfig = config.rateLimit().redis();
        this.metrics = metrics;
        this.redisClient = redisClient;
        checkBuckets(config);
        metrics.rateLimitFallbacks(); // exported from the start, so alerts and dashboards see a zero
    }

    /**
     * With rate limiting on, checks every configured bucket's shape, that tenant names leave room for
     * a per-model bucket's name ({@code tenant/model}, also its Redis key), and with buckets in Redis the replica
     * count. With it off buckets are never read, and a leftover one must not stop the server; nor does a Redis key
     * with buckets in process.
     *
     * @throws IllegalArgumentException naming the first bucket that is wrong
     */
    static void checkBuckets(SluiceConfig config) {
        if (!config.rateLimit().enabled()) {
            return;
        }
        if (config.rateLimit().store() == BucketStore.REDIS) { // the Redis keys are read only with Redis buckets
            config.rateLimit().redis().replicas().filter(n -> n < 1).ifPresent(n -> {
                throw new IllegalArgumentException("sluice.rate-limit.redis.replicas must be >= 1, was " + n);
            });
        }
        config.rateLimit().defaultBucket().ifPresent(b -> limit("sluice.rate-limit.default", b));
        config.tenants().forEach((name, tenant) -> {
            String prefix = "sluice.tenants.\"" + (name == null ? "" : name) + "\"";
            if (name == null || name.isEmpty()) { // SmallRye reads "" as no name; its Redis key would be the replica count
                throw new IllegalArgumentException(prefix + ": a tenant's name must not be empty");
            }
            if (name.contains("/")) {
                throw new IllegalArgumentException(prefix + ": a tenant's name must not contain '/'");
            }
            if (!name.chars().allMatch(c -> c >= 0x20 && c <= 0x7e && c != '"' && c != '\\')) {
                // it is sent as a structured-field string in RateLimit and RateLimit-Policy
                throw new IllegalArgumentException(prefix + ": a tenant's name must be printable ASCII without '\"' or '\\'");
            }
            tenant.rateLimit().ifPresent(b -> limit(prefix + ".rate-limit", b));
            tenant.models().forEach((model, b) -> limit(prefix + ".models.\"" + model + "\"", b));
        });
    }

    private static Limit limit(String key, SluiceConfig.Bucket shape) {
        try {
            return new Limit(shape.rate(), shape.burst().orElse(Math.max(1, (int) Math.ceil(shape.rate()))));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(key + ": " + e.getMessage(), e);
        }
    }

    /** Whether any bucket is consulted. */
    public boolean enabled() {
        return enabled;
    }

    /**
     * Takes a token for {@code tenant} calling {@code model}.
     *
     * @return a {@link Uni} of the bucket's state after the take (null when the caller has no bucket)
     *     once the request may go on, or a failure with {@link InferenceException.RateLimited}; it never
     *     fails for any other reason
     */
    public Uni<RateLimitState> admit(Tenant tenant, String model) {
        if (!enabled) {
            return UNLIMITED;
        }
        Optional<Bucket> bucket = bucket(tenant.name(), model);
        if (bucket.isEmpty()) {
            return UNLIMITED;
        }
        Bucket b = bucket.get();
        if (store == BucketStore.LOCAL) {
            return decide(b, model, b.local().take(), b.local()::giveBack);
        }
        // read before the retry time: a take that finds Redis tried again belongs to the try's generation or a later one
        long generation = slowTakes.generation();
        if (nanoClock.getAsLong() - redisRetryAtNanos < 0) {
            return fallback(b, model);
        }
        return redis().take(b.policy(), b.limit(), redisConfig.timeout())
                .onItemOrFailure().transformToUni((take, failure) -> {
                    if (failure == null) {
                        slowTakes.inTime(generation);
                        // the fallback share is no fuller than the tenant's bucket in Redis: else, always full, it would
                        // add its whole rate for the takes Redis is slow to answer (their late grants are given back)
                        b.fallback().follow(replicas(), take.tokens());
                        return decide(b, model, take, () -> giveBackInRedis(b));
                    }
                    if ((!(failure instanceof TimeoutException) || slowTakes.slow(generation))
                            && slowTakes.away(generation)) {
                        redisAway(failure);
                    }
                    return fallback(b, model);
                });
    }

    private Uni<RateLimitState> fallback(Bucket b, String model) {
        metrics.rateLimitFallback();
        if (replicaCount != null && !replicaCount.counted() && !uncountedWarned) {
            uncountedWarned = true; // once: it holds until Redis is back
            LOG.warnf("rate limits fall back to local buckets before Redis ever counted the replicas: this replica"
                    + " takes each bucket's whole rate until it does; set sluice.rate-limit.redis.replicas to bound"
                    + " the fleet's total during an outage");
        }
        FallbackBucket fallback = b.fallback();
        TokenBucket[] from = new TokenBucket[1];
        Take take = fallback.take(replicas(), from);
        return decide(b, model, take, () -> fallback.giveBack(from[0]));
    }

    /** The replicas the fallback buckets share the rate with: the setting, else the last count in Redis. */
    public int replicas() {
        return redisConfig.replicas().orElseGet(() -> replicaCount == null ? 1 : replicaCount.current());
    }

    /** With buckets in Redis and no fixed replica count, counts the replicas there now and every interval. */
    void countReplicas(@Observes StartupEvent start, Vertx vertx) {
        if (!enabled || store != BucketStore.REDIS || redisConfig.replicas().isPresent()) {
            return;
        }
        replicaCount = new ReplicaCount(redisClient.get(), redisConfig.keyPrefix());
        Runnable refresh = () -> replicaCount.refresh().subscribe().with(n -> { },
                failure -> LOG.debugf("replicas not counted (%s); keeping %d", failure, replicaCount.current()));
        refresh.run();
        vertx.setPeriodic(ReplicaCount.INTERVAL.toMillis(), id -> refresh.run());
    }

    private void redisAway(Throwable failure) {
        if (nanoClock.getAsLong() - redisRetryAtNanos >= 0) {
            LOG.warnf("rate-limit buckets in Redis are unreachable (%s); using local fair-share buckets for %s",
                    failure.toString(), redisConfig.retryInterval());
        }
        redisRetryAtNanos = nanoClock.getAsLong() + redisConfig.retryInterval().toNanos();
    }

    /**
     * Sends the refund of a token Redis gave, without waiting for it: the 503 it belongs to is not held up, and a
     * refund lost to a Redis that failed meanwhile is not retried (the tenant is charged that one token).
     */
    private void giveBackInRedis(Bucket b) {
        redis().refund(b.policy(), b.limit()).subscribe().with(
                refunded -> { },
                e -> LOG.debugf("bucket %s: a token could not be given back (%s)", b.policy(), e));
    }

    /** {@code refund}, run by the first call alone: one take, one token back at most. */
    private static RateLimitState.Refund once(RateLimitState.Refund refund) {
        AtomicBoolean given = new AtomicBoolean();
        return () -> {
            if (given.compareAndSet(false, true)) {
                refund.giveBack();
            }
        };
    }

    private static Uni<RateLimitState> decide(Bucket b, String model, Take take, RateLimitState.Refund refund) {
        RateLimitState state = new RateLimitState(b.policy(), take.limit().burst(), take.limit().rate(),
                take.limit().windowSeconds(), take.allowed() ? take.tokens() : 0, take.retryAfter(),
                take.allowed() ? once(refund) : RateLimitState.Refund.NONE);
        if (take.allowed()) {
            return Uni.createFrom().item(state);
        }
        return Uni.createFrom().failure(new InferenceException.RateLimited(overLimit(b.tenant(), b.limit(), take,
                model), state));
    }

    /**
     * The message of a refused {@code take} from the bucket of {@code tenant}'s {@code limit}: a fallback take, drawn
     * on this replica's share of the rate while Redis is away, names the share beside the tenant's limit.
     */
    static String overLimit(String tenant, Limit limit, Take take, String model) {
        String share = take.limit().equals(limit) ? "" : " (this replica's share while the buckets in Redis are"
                + " unreachable: " + format(take.limit().rate()) + " requests/s)";
        return "tenant '" + tenant + "' is over its rate limit of " + format(limit.rate()) + " requests/s" + share
                + " for '" + model + "'; retry after " + take.retryAfterMillis() + " ms";
    }

    /** The caller's bucket; buckets exist only for configured tenants and models, so their number is bounded. */
    private Optional<Bucket> bucket(String tenantName, String model) {
        SluiceConfig.TenantConfig tenant = config.tenants().get(tenantName);
        String policy = tenantName;
        Optional<SluiceConfig.Bucket> shape;
        if (tenant != null && tenant.models().containsKey(model)) {
            shape = Optional.of(tenant.models().get(model));
            policy = tenantName + "/" + model;
        } else if (tenant != null && tenant.rateLimit().isPresent()) {
            shape = tenant.rateLimit();
        } else {
            shape = config.rateLimit().defaultBucket();
        }
        String name = policy;
        // one bucket per tenant unless its limit is per model: all of a tenant's models share it
        return shape.map(s -> byPolicy.computeIfAbsent(name, p -> {
            Limit limit = limit(p, s);
            return new Bucket(tenantName, p, limit, new TokenBucket(limit, nanoClock), new FallbackBucket(limit));
        }));
    }

    private RedisBuckets redis() {
        RedisBuckets r = redis;
        if (r == null) {
            synchronized (this) {
                if (redis == null) {
                    redis = new RedisBuckets(redisClient.get(), redisConfig.keyPrefix());
                }
                r = redis;
            }
        }
        return r;
    }

    private static String format(double rate) {
        return rate == Math.rint(rate) ? Long.toString((long) rate) : Double.toString(rate);
    }

    /** A resolved bucket, named by its policy (its key in Redis), with its local and fallback twins. */
    private record Bucket(String tenant, String policy, Limit limit, TokenBucket local, FallbackBucket fallback) {}

    /**
     * A bucket's fallback: its share for the replicas counted last, reshaped when that count changes. It keeps the
     * fraction of its burst it held: a count that moves during a slow Redis (a replica restarting is counted
     * twice for a while) must not hand every replica a full burst again each time.
     */
    private final class FallbackBucket {
        private final Limit limit;
        private volatile int replicas;
        private volatile TokenBucket bucket;

        FallbackBucket(Limit limit) {
            this.limit = limit;
        }

        /**
         * Lowers the share in force to the fraction of its burst that {@code redisTokens} are of the tenant's burst in
         * Redis, if it holds more: a tenant that has spent its bucket in Redis has spent its share of it too, while
         * one whose traffic merely leans on this replica (a pinned gRPC channel) keeps its share as full as Redis is.
         */
        synchronized void follow(int replicasNow, double redisTokens) {
            inForce(replicasNow).atMost(redisTokens / limit.burst());
        }

        /** Takes from the share in force, which it leaves in {@code from[0]} for a refund. */
        synchronized Take take(int replicasNow, TokenBucket[] from) {
            from[0] = inForce(replicasNow);
            return from[0].take();
        }

        /** The share for {@code replicasNow}: made at first, reshaped when the count moved. */
        private TokenBucket inForce(int replicasNow) {
            if (bucket == null) {
                replicas = replicasNow;
                bucket = new TokenBucket(limit.share(replicasNow), nanoClock);
            } else if (replicas != replicasNow) { // Redis away: the count holds, so this is rare
                replicas = replicasNow;
                bucket = bucket.reshaped(limit.share(replicasNow));
            }
            return bucket;
        }

        /**
         * Gives a token back to {@code from}, the share it came from, if that is still in force. A share reshaped
         * since (the replica count moved, rare while Redis is away) is left alone: the request stays charged,
         * rather than a whole token going to a share of another size.
         */
        synchronized void giveBack(TokenBucket from) {
            if (from == bucket) {
                from.giveBack();
            }
        }
    }
}
