package io.sluice.inference;

import io.sluice.admission.RateLimiter;
import io.sluice.admission.Tenant;
import io.sluice.admission.TenantPriorities;
import io.sluice.cache.ResponseCache;
import io.sluice.config.SluiceConfig;
import io.sluice.model.ModelRegistry;
import io.sluice.model.ModelState;
import io.sluice.model.ServedModel;
import io.sluice.observability.Outcome;
import io.sluice.observability.SluiceMetrics;
import io.sluice.observability.VersionStatistics;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import io.smallrye.mutiny.subscription.Cancellable;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.jboss.logging.Logger;

/**
 * The one protocol-neutral entry point. REST and gRPC adapters translate their wire format into
 * these calls and translate the results (and {@link InferenceException}s) back; nothing else about
 * serving lives in an adapter.
 */
@ApplicationScoped
public class InferenceService {

    private static final Logger LOG = Logger.getLogger(InferenceService.class);

    /**
     * Protocol extensions this server supports, as listed by {@code GET /v2}: Triton's names, {@code schedule_policy}
     * for the {@code priority} and {@code timeout} request parameters.
     */
    public static final List<String> EXTENSIONS = List.of("binary_tensor_data", "classification", "model_configuration",
            "schedule_policy", "statistics");

    @Inject
    ModelRegistry registry;

    @Inject
    SluiceConfig config;

    @Inject
    SluiceMetrics metrics;

    @Inject
    RateLimiter rateLimiter;

    @Inject
    TenantPriorities priorities;

    @Inject
    ResponseCache cache;

    /** The {@code model} tag of requests for a model this server does not have: no model name starts with '_'. */
    public static final String UNKNOWN_MODEL_TAG = "_unknown";

    /**
     * Runs {@code request} for {@code tenant}: its rate limit first, then the model. Every failure is an
     * {@link InferenceException} in the returned {@link Uni}.
     */
    public Uni<InferResponse> infer(Tenant tenant, InferRequest request) {
        return infer(tenant, request.model(), request.version(), request.protocol(), () -> request);
    }

    /**
     * Runs the request {@code parse} reads, for {@code tenant} (at the priority level the tenant's levels
     * give it on the model, {@link TenantPriorities}), deciding every rejection it can before reading it:
     * the tenant's rate limit, the model's readiness, and (unless the model caches responses, whose hits
     * need no capacity) whether the model turns an arrival away now. Then it parses, validates
     * and admits the request through the model's guard, which decides any race for the last permit.
     * Every failure, a parse failure included, is an {@link InferenceException} in the returned {@link Uni}.
     *
     * @param model the model named by the URL or the message, before the body is read
     * @param version its version, or null for the default (the highest READY one)
     * @param protocol the adapter, for metrics
     * @param parse reads the request; called at most once: on the calling thread, or with buckets in Redis on
     *     the thread that brought Redis's answer (an event loop) or the fallback's timer
     */
    public Uni<InferResponse> infer(Tenant tenant, String model, String version, Protocol protocol,
            Supplier<InferRequest> parse) {
        Run run = new Run(tenant, model, protocol);
        return run.counted(run.response(version, parse, null, InferRequest.NO_DEADLINE));
    }

    /**
     * {@link #infer(Tenant, String, String, Protocol, Supplier)}, counted in the metrics once {@code answer} has
     * turned the response into what goes out: an adapter whose writing can fail (no memory for a large answer) has
     * that failure counted as what the client gets, not as a success.
     */
    public <T> Uni<T> infer(Tenant tenant, String model, String version, Protocol protocol,
            Supplier<InferRequest> parse, Function<InferResponse, Uni<T>> answer) {
        return infer(tenant, model, version, protocol, parse, null, InferRequest.NO_DEADLINE, answer);
    }

    /**
     * {@link #infer(Tenant, String, String, Protocol, Supplier, Function)}, with the request read on {@code readOn}
     * (null: as there): an adapter sends a body there that would hold an event loop up for long (many MB of JSON, a
     * compressed body). The rate limit is decided first where it is, and so is a request the model would turn away
     * unread (unknown, not ready, full); from there on (the parse, the admission, the model's own checks again) the
     * call runs on {@code readOn}, in the caller's trace. A call cancelled while it waits for {@code readOn} is never
     * read, nor is one still waiting at {@code deadline} (the one the request's headers give, {@link
     * InferRequest#NO_DEADLINE} if none), answered then 504 / DEADLINE_EXCEEDED; one {@code readOn} has no room for
     * ({@link RejectedExecutionException}) gets 503 {@code queue_full}.
     */
    public <T> Uni<T> infer(Tenant tenant, String model, String version, Protocol protocol,
            Supplier<InferRequest> parse, Executor readOn, long deadline, Function<InferResponse, Uni<T>> answer) {
        Run run = new Run(tenant, model, protocol);
        Executor on = readOn == null ? null : io.opentelemetry.context.Context.current().wrap(readOn);
        return run.counted(run.response(version, parse, on, deadline).onItem().transformToUni(r -> answer.apply(r)));
    }

    /** One request on its way: what its metrics are counted under, once. */
    private final class Run {
        private final long start = System.nanoTime();
        private final Tenant tenant;
        private final String model;
        private final Protocol protocol;
        private final AtomicBoolean counted = new AtomicBoolean(); // a cancel racing the answer or failure counts once
        private InferRequest parsed;

        Run(Tenant tenant, String model, Protocol protocol) {
            this.tenant = tenant;
            this.model = model;
            this.protocol = protocol;
        }

        /**
         * {@code readOn}: where the request is read, and everything after the rate limit runs; null: here. A request
         * the model would turn away unread (unknown, not ready, full) is turned away here, at once.
         */
        Uni<InferResponse> response(String version, Supplier<InferRequest> parse, Executor readOn, long deadline) {
            Supplier<InferRequest> once = () -> parsed = withinLimits(parse.get());
            Supplier<Uni<InferResponse>> admitted = () -> readOn == null || turnedAwayUnread(version)
                    ? run(tenant, model, version, once)
                    : readElsewhere(readOn, deadline, () -> run(tenant, model, version, once));
            return rateLimiter.enabled()
                    ? rateLimiter.admit(tenant, model).emitOn(backTo(Vertx.currentContext()))
                            .onItem().transformToUni(state -> charged(state, admitted.get()))
                    : admitted.get();
        }

        /** Whether {@link #run} would answer this request without reading it: then it answers so at once. */
        private boolean turnedAwayUnread(String version) {
            ServedModel m;
            try {
                m = registry.ready(model, version);
            } catch (RuntimeException unknownOrNotReady) {
                return true;
            }
            // a model that caches answers reads every request: a hit needs no capacity
            return !m.settings().cacheEnabled()
                    && m.turnsAway(priorities.highestIndex(tenant, m.settings().priorityLevels()));
        }

        <T> Uni<T> counted(Uni<T> result) {
            return result
                    .onItemOrFailure().invoke((item, failure) -> {
                        if (!counted.compareAndSet(false, true)) {
                            return;
                        }
                        String tag = metricTag(model);
                        if (failure != null) {
                            metrics.rejection(tag, failure);
                        }
                        Outcome outcome = failure == null ? Outcome.SUCCESS : Outcome.of(failure);
                        finished(tenant, tag, protocol, parsed, outcome, start);
                    })
                    .onCancellation().invoke(() -> {
                        if (counted.compareAndSet(false, true)) {
                            cancelled(tenant, metricTag(model), protocol, parsed, start);
                        }
                    });
        }
    }

    /**
     * {@code answer}, reporting the tenant's bucket {@code state} (null: the caller has none). A request the model
     * could not serve at all ({@link InferenceException.Unavailable#modelCannotServe}) gives its token back.
     */
    private static Uni<InferResponse> charged(RateLimitState state, Uni<InferResponse> answer) {
        if (state == null) {
            return answer;
        }
        return answer.map(r -> r.withRateLimit(state))
                .onFailure(e -> e instanceof InferenceException.Unavailable u && u.modelCannotServe()).invoke(() -> {
                    try {
                        state.refund().giveBack();
                    } catch (RuntimeException e) { // the 503 goes out as it is: a lost refund charges one token
                        LOG.debugf("the token of a request of tenant bucket %s was not given back: %s", state.policy(), e);
                    }
                });
    }

    /**
     * {@code request}, if its BYTES inputs hold at most {@code sluice.limits.max-bytes-elements} elements together.
     *
     * @throws InferenceException.InvalidInput of kind TOO_LARGE otherwise
     */
    private InferRequest withinLimits(InferRequest request) {
        long elements = 0;
        for (Tensor t : request.inputs()) {
            if (t.datatype() == Datatype.BYTES) {
                elements += t.elementCount();
            }
        }
        int max = config.limits().maxBytesElements();
        if (elements > max) {
            throw new InferenceException.InvalidInput("request's inputs hold " + elements + " BYTES elements, more than"
                    + " the server's limit of " + max + " (sluice.limits.max-bytes-elements)",
                    InferenceException.InvalidInput.Kind.TOO_LARGE);
        }
        return request;
    }

    /**
     * Counts a request turned away before it reached the request path, as {@link #infer} counts a rejection:
     * a stream's request that arrives once the stream is closing at shutdown. It took no time in the server.
     */
    public void turnedAway(Tenant tenant, String model, Protocol protocol, InferenceException refusal) {
        String tag = metricTag(model);
        metrics.rejection(tag, refusal);
        finished(tenant, tag, protocol, null, Outcome.of(refusal), System.nanoTime());
    }

    /**
     * Counts a request refused before its model's name was read: a gRPC message too large, framed wrong, or not a
     * {@code ModelInferRequest} (the name is inside it). It counts under {@link #UNKNOWN_MODEL_TAG} as {@code
     * invalid}, the client's mistake whatever status it was answered with, and took no time in the server.
     */
    public void refusedUnread(Tenant tenant, Protocol protocol) {
        finished(tenant, UNKNOWN_MODEL_TAG, protocol, null, Outcome.INVALID, System.nanoTime());
    }

    /**
     * Counts a request its caller cancelled; one cancelled at its deadline ({@link
     * InferRequest#cancelledAtDeadline}: a gRPC client cancels when its deadline passes) is counted as the
     * deadline passing ({@code outcome="deadline"} and a {@code deadline} rejection), so what watches passed
     * deadlines sees gRPC clients' too.
     */
    private void cancelled(Tenant tenant, String tag, Protocol protocol, InferRequest request, long start) {
        if (request != null && InferRequest.cancelledAtDeadline(start, request.deadlineNanos(), System.nanoTime())) {
            metrics.rejection(tag, new InferenceException.DeadlineExceeded("the client gave up at its deadline"));
            finished(tenant, tag, protocol, request, Outcome.DEADLINE, start);
        } else {
            finished(tenant, tag, protocol, request, Outcome.CANCELLED, start);
        }
    }

    /** Why a request finds no room where large requests are read: 503 {@code queue_full}, retried after a second. */
    public static InferenceException.Unavailable readersFull() {
        return new InferenceException.Unavailable(InferenceException.Unavailable.Reason.QUEUE_FULL,
                "the server is reading as many large request bodies as it reads at once, and as many wait: "
                        + "retry, or send a smaller or uncompressed body", Duration.ofSeconds(1));
    }

    /**
     * {@code work} started on {@code readOn}. A call cancelled while it waits there is never started (its body never
     * read), nor is one still waiting at {@code deadline}: that is answered 504 / DEADLINE_EXCEEDED then. One that finds
     * no room there is turned away with 503 {@code queue_full}.
     */
    private static <T> Uni<T> readElsewhere(Executor readOn, long deadline, Supplier<Uni<T>> work) {
        return Uni.createFrom().emitter(emitter -> {
            // one of: a reader takes it, its deadline passes, no room, or a cancel; the first decides
            AtomicBoolean decided = new AtomicBoolean();
            ScheduledFuture<?> timer = deadline == InferRequest.NO_DEADLINE ? null
                    : Infrastructure.getDefaultWorkerPool().schedule(() -> {
                        if (decided.compareAndSet(false, true)) {
                            emitter.fail(deadlineWaiting());
                        }
                    }, InferRequest.timerDelay(deadline - System.nanoTime()).toNanos(), TimeUnit.NANOSECONDS);
            AtomicReference<Cancellable> running = new AtomicReference<>();
            AtomicBoolean over = new AtomicBoolean();
            emitter.onTermination(() -> { // answered, failed, or cancelled: also while the reader parses
                over.set(true);
                decided.set(true);
                if (timer != null) {
                    timer.cancel(false);
                }
                Cancellable r = running.getAndSet(null);
                if (r != null) {
                    r.cancel();
                }
            });
            try {
                readOn.execute(() -> {
                    boolean late = deadline != InferRequest.NO_DEADLINE && deadline - System.nanoTime() <= 0;
                    if (!decided.compareAndSet(false, true)) {
                        return; // cancelled, or past its deadline, while it waited
                    }
                    if (late) { // its timer is due: not read for nothing
                        emitter.fail(deadlineWaiting());
                        return;
                    }
                    if (timer != null) {
                        timer.cancel(false); // the model's queue and guard hold the deadline from here
                    }
                    running.set(Uni.createFrom().deferred(work::get).subscribe().with(emitter::complete, emitter::fail));
                    if (over.get()) { // cancelled while it was read and started (or already answered: no matter)
                        Cancellable r = running.getAndSet(null);
                        if (r != null) {
                            r.cancel();
                        }
                    }
                });
            } catch (RejectedExecutionException full) {
                if (decided.compareAndSet(false, true)) {
                    emitter.fail(readersFull());
                }
            }
        });
    }

    private static InferenceException deadlineWaiting() {
        return new InferenceException.DeadlineExceeded("deadline passed while the request body waited to be read");
    }

    /**
     * Runs what follows the rate limit on the caller's own context: with buckets in Redis the answer comes
     * on the Redis connection's event loop (or the fallback's timer), which every request's rate limit
     * shares, and parsing a large body there would hold all their answers back past the Redis timeout. A
     * local bucket answers on the caller's thread, which stays put.
     */
    private static Executor backTo(Context caller) {
        if (caller == null) {
            return Runnable::run;
        }
        return task -> {
            if (Vertx.currentContext() == caller) {
                task.run();
            } else {
                caller.runOnContext(v -> task.run());
            }
        };
    }

    /** The {@code model} tag of a request's meters: its model, or {@link #UNKNOWN_MODEL_TAG} for one this server lacks. */
    private String metricTag(String model) {
        return registry.contains(model) ? model : UNKNOWN_MODEL_TAG;
    }

    /** The model, or its response cache when the model turned one on. */
    private Uni<InferResponse> run(Tenant tenant, String name, String version, Supplier<InferRequest> parse) {
        ServedModel model;
        try {
            model = registry.ready(name, version);
        } catch (RuntimeException e) { // a lookup failure travels like any other
            return Uni.createFrom().failure(e);
        }
        VersionStatistics statistics = model.statistics();
        long start = System.nanoTime();
        AtomicBoolean counted = new AtomicBoolean(); // a cancel racing the answer counts once
        return answer(tenant, model, parse).onItemOrFailure().invoke((response, failure) -> {
            if (!counted.compareAndSet(false, true)) {
                return;
            }
            long nanos = System.nanoTime() - start;
            if (failure == null) {
                CacheStatus cached = response.cache();
                statistics.succeeded(nanos, cached == CacheStatus.HIT_L1 || cached == CacheStatus.HIT_L2,
                        cached == CacheStatus.MISS);
            } else {
                statistics.failed(nanos);
            }
        }).onCancellation().invoke(() -> {
            if (counted.compareAndSet(false, true)) {
                statistics.failed(System.nanoTime() - start); // as Triton counts a cancel
            }
        });
    }

    private Uni<InferResponse> answer(Tenant tenant, ServedModel model, Supplier<InferRequest> read) {
        int levels = model.settings().priorityLevels();
        Supplier<InferRequest> parse = () -> { // at the level the tenant's levels give it, once, whichever path
            InferRequest request = read.get();
            return request.withPriority(priorities.level(tenant, request.priority(), levels));
        };
        try {
            if (model.settings().cacheEnabled()) {
                InferRequest request = parse.get();
                int level = model.priorityLevel(request.priority()); // priorities 2 and 9 on one level share a run
                // the run may start on another thread (a follower's, after the shared run failed under it): its
                // spans join this request's trace all the same
                io.opentelemetry.context.Context trace = io.opentelemetry.context.Context.current();
                boolean perRow = model.ranksPerRow(); // once: the key and the answer rank alike
                return cache.serve(tenant.name(), model.name(), model.version(), model.contents(perRow),
                        model.settings().cacheMinUses(), level, request, r -> model.infer(r, perRow, trace));
            }
            return model.infer(parse, priorities.highestIndex(tenant, levels));
        } catch (RuntimeException e) { // a parse failure travels like any other
            return Uni.createFrom().failure(e);
        }
    }

    /**
     * The answer to Triton's model load or unload ({@code action}), which Sluice refuses on every protocol: it
     * serves the models it found at startup, as Triton's model control mode "none" does.
     */
    public static InferenceException.InvalidInput loadOrUnloadRefused(String model, String action) {
        return new InferenceException.InvalidInput("Sluice serves the models it found at startup and does not " + action
                + " models at run time (as Triton's model control mode none): change the repository and roll out"
                + " (asked to " + action + " '" + model + "')");
    }

    /**
     * Every model version this server serves (found, and chosen by its version policy), with its state
     * (Triton's repository index), READY ones only when {@code readyOnly}; by name, then version.
     */
    public List<ModelIndexEntry> repositoryIndex(boolean readyOnly) {
        return byNameAndVersion().map(InferenceService::indexEntry)
                .filter(e -> !readyOnly || e.state().equals("READY"))
                .toList();
    }

    /** {@code m}'s entry, from one reading of its state: a load failing meanwhile is not LOADING with a reason. */
    private static ModelIndexEntry indexEntry(ServedModel m) {
        ModelState state = m.state();
        String reason = m.reason();
        return new ModelIndexEntry(m.name(), m.version(), switch (state) {
            case READY -> "READY";
            case LOADING, WARMING -> "LOADING";
            case FAILED -> "UNAVAILABLE";
        }, state == ModelState.FAILED && reason != null ? reason : "");
    }

    /**
     * Triton's statistics extension: every READY version of every model ({@code model} null), every READY
     * version of {@code model} ({@code version} null), or that one version whatever its state.
     *
     * @throws InferenceException.ModelNotFound for an unknown model or version
     */
    public List<VersionStatistics.Snapshot> modelStatistics(String model, String version) {
        if (model == null) {
            return byNameAndVersion().filter(m -> m.state() == ModelState.READY)
                    .map(m -> m.statistics().snapshot()).toList();
        }
        if (version != null) {
            return List.of(registry.find(model, version).statistics().snapshot());
        }
        registry.find(model, null); // 404 for a model this server does not have
        return byNameAndVersion().filter(m -> m.name().equals(model) && m.state() == ModelState.READY)
                .map(m -> m.statistics().snapshot()).toList();
    }

    private Stream<ServedModel> byNameAndVersion() {
        return registry.all().stream()
                .sorted(Comparator.comparing(ServedModel::name).thenComparingLong(m -> m.source().version()));
    }

    /** Records one finished request: its metrics, and one log line at debug level. */
    private void finished(Tenant tenant, String model, Protocol protocol, InferRequest request, Outcome outcome,
            long start) {
        long nanos = System.nanoTime() - start;
        metrics.request(model, protocol, outcome, nanos);
        metrics.tenantRequest(tenant.name(), model, outcome);
        if (LOG.isDebugEnabled()) {
            LOG.debugf("infer model=%s version=%s protocol=%s id=%s outcome=%s duration=%.3fms", model,
                    request == null ? null : request.version(), protocol.tag(), request == null ? null : request.id(),
                    outcome.tag(), nanos / 1e6);
        }
    }

    /** Whether the model version exists and is READY; false for one this server does not have. */
    public boolean modelKnownAndReady(String model, String version) {
        try {
            return modelReady(model, version);
        } catch (InferenceException.ModelNotFound e) {
            return false;
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

    /** True once every required model has settled with a READY version (see ModelRegistry#requiredReady). */
    public boolean ready() {
        return registry.requiredReady();
    }

    /**
     * Metadata of a READY model version, read from its session. A version still loading or FAILED has no
     * inputs or outputs to tell, and an answer without them says the model takes none (a client that reads
     * metadata once would keep that), so it is refused as Triton refuses it.
     *
     * @throws InferenceException.ModelNotFound for an unknown model or version
     * @throws InferenceException.Unavailable when the version is not READY (503 / UNAVAILABLE, with its state)
     */
    public ModelMetadata modelMetadata(String model, String version) {
        ServedModel served = registry.ready(model, version);
        return served.metadata(registry.versions(served.name()));
    }

    /**
     * How a READY model version is served (Triton's model configuration extension).
     *
     * @throws InferenceException.ModelNotFound for an unknown model or version
     * @throws InferenceException.Unavailable when the version is not READY, as {@link #modelMetadata}
     */
    public ModelConfiguration modelConfiguration(String model, String version) {
        return registry.ready(model, version).configuration();
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
