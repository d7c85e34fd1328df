package io.sluice.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.quarkus.redis.client.RedisClientName;
import io.sluice.config.RedisClients;
import io.sluice.config.SluiceConfig;
import io.sluice.inference.CacheStatus;
import io.sluice.inference.InferRequest;
import io.sluice.inference.InferResponse;
import io.sluice.inference.InferenceException;
import io.sluice.inference.Tensor;
import io.sluice.observability.SluiceMetrics;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.Cancellable;
import io.vertx.mutiny.redis.client.Redis;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.jboss.logging.Logger;

/**
 * Serves repeated requests without the model. A lookup tries L1 (in process, bounded by bytes, with a
 * TTL), then joins an identical request of the same priority level already in flight, then L2 (Redis, bounded
 * by a timeout and failing open), and only then runs the model once for everyone waiting on that key;
 * the result fills L2 and L1 once that key has been computed the model's {@code cache.min-uses} times (2
 * by default: one-off requests are never copied or stored). A failed shared run is not passed on: when
 * the deadline of the request that started it passed, the requests that joined it share a new run; when the
 * model refused its inputs, they share that 400; otherwise each waiting caller runs its own request.
 */
@ApplicationScoped
public class ResponseCache {
    private static final Logger LOG = Logger.getLogger(ResponseCache.class);

    private static final String L1 = "l1";
    private static final String L2 = "l2";
    private static final String INFLIGHT = "inflight";

    /** Most keys whose computations are counted towards {@code min-uses}. */
    static final int COUNTED_KEYS = 16_384;

    private final Cache<CacheKey, List<Tensor>> l1;
    private final Cache<CacheKey, Integer> uses;
    private final long l1MaxBytes;
    private final boolean l1On; // a TTL of 0 turns L1 off as surely as a size of 0
    private final SluiceConfig.Cache.L2 l2Config;
    private final Instance<Redis> redisClient;
    private final SluiceMetrics metrics;
    private final Map<FlightKey, Flight> flights = new ConcurrentHashMap<>();
    private volatile RedisTier l2;
    private boolean clientMissing; // guarded by this

    @Inject
    public ResponseCache(SluiceConfig config, SluiceMetrics metrics,
            @RedisClientName(RedisClients.CACHE) Instance<Redis> redisClient) {
        SluiceConfig.Cache.L1 l1Config = config.cache().l1();
        this.l1 = Caffeine.newBuilder()
                .maximumWeight(l1Config.maxBytes())
                .weigher((CacheKey k, List<Tensor> v) -> (int) Math.min(Integer.MAX_VALUE, CachedOutputs.weight(v)))
                .expireAfterWrite(l1Config.ttl())
                .executor(Runnable::run) // evictions happen at once, on the caller: the byte bound is never exceeded
                .build();
        this.uses = Caffeine.newBuilder()
                .maximumSize(COUNTED_KEYS)
                .expireAfterWrite(countingWindow(config.cache()))
                .executor(Runnable::run)
                .build();
        this.l1MaxBytes = l1Config.maxBytes();
        this.l1On = !l1Config.ttl().isZero() && !l1Config.ttl().isNegative() && l1Config.maxBytes() > 0;
        this.l2Config = config.cache().l2();
        this.metrics = metrics;
        this.redisClient = redisClient;
    }

    /**
     * The response to {@code request} from {@code tenant} on {@code version} of {@code model}, whose files
     * and provider digest to {@code contents}: from a tier, or from {@code compute} (the model) on a miss.
     * {@code level} is the scheduler level the request runs at: only requests of one level share a run in
     * flight. Entries and runs in flight are the tenant's own ({@link CacheKey}).
     */
    public Uni<InferResponse> serve(String tenant, String model, String version, String contents, int minUses,
            int level, InferRequest request, Function<InferRequest, Uni<InferResponse>> compute) {
        return serve(CacheKey.of(tenant, model, version, contents, request), model, version, minUses, level, request,
                compute, false);
    }

    /** {@code again}: this request already waited on a shared run that failed. */
    private Uni<InferResponse> serve(CacheKey key, String model, String version, int minUses, int level,
            InferRequest request, Function<InferRequest, Uni<InferResponse>> compute, boolean again) {
        // a request is counted once: its first lookup, not again when a shared run failed under it
        List<Tensor> hit = l1.getIfPresent(key);
        if (hit != null) {
            if (!again) {
                metrics.cache(model, L1, "hit");
            }
            return Uni.createFrom().item(response(model, version, request, hit, CacheStatus.HIT_L1));
        }
        if (!again) {
            metrics.cache(model, L1, "miss");
        }
        Flight created = new Flight(request.deadlineNanos());
        // only requests of one level share a run: the run is queued at its first request's level
        FlightKey flightKey = new FlightKey(key, level);
        Flight flight = flights.putIfAbsent(flightKey, created);
        boolean leader = flight == null;
        if (leader) {
            flight = created;
            // deferred: whatever building the lookup throws (say, the Redis client) fails this flight, never
            // leaves it in the map unstarted, where every identical request after it would wait forever
            flight.start(Uni.createFrom().deferred(() -> lookupOrCompute(model, version, minUses, key, request, compute)),
                    () -> flights.remove(flightKey, created));
        }
        Uni<InferResponse> shared = flight.join().map(r -> response(model, version, request, r.outputs(), r.status()));
        if (!leader) { // a hit once the shared run has answered it, not when it joined a run that may yet fail
            shared = shared.invoke(r -> metrics.cache(model, INFLIGHT, "hit"));
        }
        Uni<InferResponse> alone = Uni.createFrom().deferred(() -> compute.apply(request))
                .map(r -> withStatus(r, request, CacheStatus.MISS));
        if (leader) {
            // the shared run is cancelled only when every caller has left; if that happened before this
            // caller subscribed, it runs its own request
            return shared.onFailure(CancellationException.class).recoverWithUni(alone);
        }
        // a follower waits no longer than its own deadline. If the shared run failed because the deadline of
        // the request that started it passed, the followers share a new run (once); a refusal of the inputs is
        // theirs too; after any other failure (the model's own admission.timeout among them), or a second one,
        // each runs alone
        Flight failed = flight;
        Uni<InferResponse> follower = shared.onFailure().recoverWithUni(failure -> {
            if (failure instanceof InferenceException.InvalidInput) {
                // the model refused inputs identical to this one's (the key holds all a request's inputs, outputs and
                // parameters): it would refuse them again; never a 500, nor a timeout, which may pass
                return Uni.createFrom().failure(failure);
            }
            if (again || !(failure instanceof InferenceException.DeadlineExceeded) || !failed.leaderDeadlinePassed()) {
                return alone;
            }
            flights.remove(flightKey, failed); // out already (a run leaves before it answers): a no-op kept as a guard
            return serve(key, model, version, minUses, level, request, compute, true);
        });
        if (request.hasDeadline()) {
            long remaining = request.deadlineNanos() - System.nanoTime();
            follower = follower.ifNoItem().after(InferRequest.timerDelay(remaining)).failWith(
                    () -> new InferenceException.DeadlineExceeded("deadline passed while '" + model + "' computed it"));
        }
        return follower;
    }

    /**
     * What identical requests in flight share: the key of their outputs, and their scheduler level, since the
     * shared run waits in the model's queue at the level of the request that started it. A request of another
     * level starts its own run rather than wait behind a lower one; priorities that map to one level (2 and 9
     * on a model of one level) share.
     */
    private record FlightKey(CacheKey key, int level) {}

    /** Outputs and where they came from. */
    private record Result(List<Tensor> outputs, CacheStatus status) {}

    private Uni<Result> lookupOrCompute(String model, String version, int minUses, CacheKey key, InferRequest request,
            Function<InferRequest, Uni<InferResponse>> compute) {
        RedisTier tier = l2Config.enabled() ? l2() : null; // null with L2 on: no client to be had, L2 is skipped
        Uni<Result> computed = Uni.createFrom().deferred(() -> compute.apply(request)).onItem().transformToUni(r -> {
            if (!usedEnough(key, minUses)) {
                return Uni.createFrom().item(new Result(r.outputs(), CacheStatus.MISS));
            }
            // copied only for a tier that can keep them: an entry over both bounds costs no copy at all
            boolean inL1 = l1On && CachedOutputs.weight(r.outputs()) <= l1MaxBytes;
            // and only when Redis would be sent them now: during an outage no copy is made for a write not sent
            boolean inL2 = tier != null && tier.takes(CachedOutputs.encodedSize(r.outputs()));
            if (!inL1 && !inL2) {
                return Uni.createFrom().item(new Result(r.outputs(), CacheStatus.MISS));
            }
            List<Tensor> outputs = CachedOutputs.compact(r.outputs());
            Result result = new Result(outputs, CacheStatus.MISS);
            if (inL1) {
                l1.put(key, outputs);
            }
            if (!inL2) {
                return Uni.createFrom().item(result);
            }
            Uni<Boolean> write = tier.put(key, CachedOutputs.encode(outputs)); // never fails, bounded by l2.timeout
            if (!inL1) { // only Redis can answer the next identical request: it is there before this one is answered
                return write.map(stored -> result);
            }
            write.subscribe().with(stored -> { }); // L1 answers this replica's next one; Redis is written behind
            return Uni.createFrom().item(result);
        });
        if (tier == null) {
            if (l2Config.enabled()) {
                metrics.cache(model, L2, "error");
            }
            return computed;
        }
        return tier.get(key).onItem().transformToUni(found -> {
            if (found.lookup() == RedisTier.Lookup.HIT) {
                List<Tensor> outputs = CachedOutputs.decode(found.bytes());
                if (outputs != null && answers(outputs, request)) {
                    metrics.cache(model, L2, "hit");
                    if (l1On && CachedOutputs.weight(outputs) <= l1MaxBytes) { // as a computed one: never L1 flushed for it
                        l1.put(key, outputs);
                    }
                    return Uni.createFrom().item(new Result(outputs, CacheStatus.HIT_L2));
                }
            }
            metrics.cache(model, L2, found.lookup() == RedisTier.Lookup.ERROR ? "error" : "miss");
            return computed;
        });
    }

    /**
     * Whether {@code outputs}, a value read back from Redis, can answer {@code request}: when the request names its
     * outputs, they are those, in its order. (Another writer's value under the key is a miss, as a torn one is.)
     */
    static boolean answers(List<Tensor> outputs, InferRequest request) {
        List<String> asked = request.outputs(); // none: every output of the model, which only the model knows
        return asked.isEmpty() || outputs.stream().map(Tensor::name).toList().equals(asked);
    }

    /**
     * How long a key's computations are counted towards {@code min-uses}: the life of an entry in the longer-lived
     * tier. Counted only within the L1 TTL, an L1 TTL of 0 (L1 off, L2 on) never let a count reach 2, and nothing
     * was stored in L2 either.
     */
    static Duration countingWindow(SluiceConfig.Cache cache) {
        Duration l1 = cache.l1().ttl();
        return cache.l2().enabled() && cache.l2().ttl().compareTo(l1) > 0 ? cache.l2().ttl() : l1;
    }

    /** Counts one more computation of {@code key}; true once it has been computed {@code min-uses} times. */
    private boolean usedEnough(CacheKey key, int minUses) {
        if (minUses <= 1) {
            return true;
        }
        int n = uses.asMap().merge(key, 1, Integer::sum);
        if (n < minUses) {
            return false;
        }
        uses.invalidate(key);
        return true;
    }

    /** The Redis tier; null when no Redis client can be had (logged), so that L2 fails open like Redis itself. */
    private RedisTier l2() {
        RedisTier tier = l2;
        if (tier == null) {
            synchronized (this) {
                if (l2 == null) {
                    try {
                        l2 = new RedisTier(redisClient.get(), l2Config.keyPrefix(), l2Config.ttl(),
                                l2Config.maxEntryBytes(), l2Config.timeout(), l2Config.retryInterval(), System::nanoTime);
                    } catch (RuntimeException e) {
                        if (!clientMissing) { // once: every lookup tries again, and would log again
                            clientMissing = true;
                            LOG.warnf("cache L2 skipped: no Redis client (%s)", e.toString());
                        }
                        return null;
                    }
                }
                tier = l2;
            }
        }
        return tier;
    }

    private static InferResponse response(String model, String version, InferRequest request, List<Tensor> outputs,
            CacheStatus status) {
        return new InferResponse(model, version, request.id(), Map.of(), views(outputs), status);
    }

    private static InferResponse withStatus(InferResponse r, InferRequest request, CacheStatus status) {
        return new InferResponse(r.model(), r.version(), request.id(), r.parameters(), r.outputs(), status);
    }

    /** Fresh views of cached outputs (already the requested ones: the outputs are part of the key). */
    private static List<Tensor> views(List<Tensor> outputs) {
        // writable slices of the cached arrays: protobuf and the REST writers then copy straight from the array
        // (a read-only view would take a slower path); nothing on the response path writes to an output
        return outputs.stream().map(t -> new Tensor(t.name(), t.datatype(), t.shape(), t.data())).toList();
    }

    /**
     * One computation shared by every identical request in flight. It is cancelled only when every
     * caller has gone; the callers that remain get its result.
     */
    private static final class Flight {
        private final CompletableFuture<Result> result = new CompletableFuture<>();
        /** The deadline of the request that started it, on {@link System#nanoTime()}. */
        private final long leaderDeadline;
        private int waiters;
        private Cancellable running;

        Flight(long leaderDeadline) {
            this.leaderDeadline = leaderDeadline;
        }

        boolean leaderDeadlinePassed() {
            return leaderDeadline != InferRequest.NO_DEADLINE && System.nanoTime() - leaderDeadline >= 0;
        }

        void start(Uni<Result> work, Runnable finished) {
            result.whenComplete((r, t) -> finished.run()); // a cancelled flight's removal
            // out of the map before its callers are answered: a request that comes once an answer is out starts
            // its own flight, never joins one that is over (and so never misses its turn in min-uses' count)
            Cancellable c = work.subscribe().with(r -> {
                finished.run();
                result.complete(r);
            }, t -> {
                finished.run();
                result.completeExceptionally(t);
            });
            synchronized (this) {
                running = c;
            }
        }

        Uni<Result> join() {
            return Uni.createFrom().emitter(emitter -> {
                synchronized (this) {
                    waiters++;
                }
                result.whenComplete((r, t) -> {
                    if (t == null) {
                        emitter.complete(r);
                    } else {
                        emitter.fail(t instanceof java.util.concurrent.CompletionException && t.getCause() != null
                                ? t.getCause() : t);
                    }
                });
                emitter.onTermination(() -> {
                    Cancellable cancel = null;
                    synchronized (this) {
                        waiters--;
                        if (waiters == 0 && !result.isDone()) {
                            cancel = running;
                        }
                    }
                    if (cancel != null) {
                        cancel.cancel();
                        result.cancel(false);
                    }
                });
            });
        }
    }
}
