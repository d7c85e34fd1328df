package io.sluice.model;

import io.sluice.admission.ModelGuard;
import io.sluice.batching.Job;
import io.sluice.batching.ModelScheduler;
import io.sluice.config.ExecutionProvider;
import io.sluice.config.ModelSettings;
import io.sluice.inference.Classification;
import io.sluice.inference.InferRequest;
import io.sluice.inference.InferResponse;
import io.sluice.inference.InferenceException;
import io.sluice.inference.ModelConfiguration;
import io.sluice.inference.ModelMetadata;
import io.sluice.inference.RequestValidation;
import io.sluice.inference.Tensor;
import io.sluice.inference.TensorSpec;
import io.sluice.observability.Tracing;
import io.sluice.observability.VersionStatistics;
import io.sluice.runtime.OnnxSession;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.UniEmitter;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/**
 * One version of one model as it is served: its lifecycle state, and once loaded its session and
 * scheduler. {@link #infer} is the execution path that both requests and warmup take.
 */
public final class ServedModel {

    private static final Logger LOG = Logger.getLogger(ServedModel.class);

    private final ModelSource source;
    private final ModelSettings settings;
    private volatile ModelState state = ModelState.LOADING;
    private volatile String reason;
    private volatile OnnxSession session;
    private volatile ModelScheduler scheduler;
    private volatile ModelGuard guard;
    /** Set by {@link #close()}; a load that finishes after it hands over nothing. */
    private boolean closed;
    /** The session a load is running its row check on, before the model holds it ({@link #checking}); else null. */
    private OnnxSession checking;
    /** Set by {@link #shutDown()}: closed as the server stops, not after a failed load. */
    private volatile boolean shutDown;
    private volatile boolean batchable;
    volatile long loadNanos;
    volatile long warmupNanos;
    /** {@link ModelContents} of this version and its provider, set at load when its responses are cached; else null. */
    volatile String contents;

    private final Tracing tracing;
    private final VersionStatistics statistics;

    ServedModel(ModelSource source, ModelSettings settings, Tracing tracing) {
        this.source = source;
        this.settings = settings;
        this.tracing = tracing;
        this.statistics = new VersionStatistics(source.name(), Long.toString(source.version()),
                System::currentTimeMillis);
    }

    /** This version's cumulative statistics (Triton's statistics extension). */
    public VersionStatistics statistics() {
        return statistics;
    }

    /** Model name. */
    public String name() {
        return source.name();
    }

    /** This version, as text. */
    public String version() {
        return Long.toString(source.version());
    }

    /** Current lifecycle state. */
    public ModelState state() {
        return state;
    }

    /** Why the model FAILED, else null. */
    public String reason() {
        return reason;
    }

    /** The resolved settings. */
    public ModelSettings settings() {
        return settings;
    }

    /**
     * The identity of this version's files and the provider that runs them (see {@link ModelContents}),
     * known once it loaded with the response cache on; null otherwise.
     */
    public String contents() {
        return contents(batchesRows());
    }

    /**
     * {@link #contents()} for a request whose classifications rank per row when {@code perRow} ({@link
     * #ranksPerRow()}, read once for the request): a model that stopped batching ranks over the whole output, so
     * its entries from before the stop must not answer after it, and the key says which ranking its entry holds.
     */
    public String contents(boolean perRow) {
        String c = contents;
        return c != null && batchable && !perRow ? c + "@stopped" : c;
    }

    /**
     * Whether a request arriving now has its classifications ranked per row: while the model batches, as its
     * configuration then tells clients. Read once per request, so that its cache key ({@link #contents(boolean)})
     * and its answer agree even when the batch it runs in is the one that stops the batching.
     */
    public boolean ranksPerRow() {
        return batchesRows();
    }

    /** Whether a batch's outputs lead with its rows: it loaded as a batching model and has not stopped batching. */
    private boolean batchesRows() {
        ModelScheduler sched = scheduler;
        return batchable && (sched == null || !sched.stoppedBatching());
    }

    /** Where the model file lives. */
    public ModelSource source() {
        return source;
    }

    /** Time spent creating the session, in seconds. */
    public double loadSeconds() {
        return loadNanos / 1e9;
    }

    /** Time spent warming, in seconds. */
    public double warmupSeconds() {
        return warmupNanos / 1e9;
    }

    /** The session; null until loaded. */
    OnnxSession session() {
        return session;
    }

    /** The scheduler; null until loaded. */
    public ModelScheduler scheduler() {
        return scheduler;
    }

    /** The guard; null until loaded. */
    public ModelGuard guard() {
        return guard;
    }

    /**
     * Hands the model what loading made; false, taking nothing, once the model has been closed (the server
     * stopped while it loaded): the caller then closes them itself.
     */
    synchronized boolean loaded(OnnxSession session, ModelScheduler scheduler, ModelGuard guard, boolean batchable) {
        if (closed) {
            return false;
        }
        this.session = session;
        this.scheduler = scheduler;
        this.guard = guard;
        this.batchable = batchable;
        return true;
    }

    /**
     * Says that a load runs {@code session}, which the model does not hold yet, for its row check
     * ({@link RowIndependence}), so that a close stops those runs ({@link #stopChecks()}); false once the model has
     * been closed (the server stopped while it loaded): the check must not start.
     */
    synchronized boolean checking(OnnxSession session) {
        if (closed) {
            return false;
        }
        checking = session;
        return true;
    }

    /** The row check is over: its session is the load's to hand over or close. */
    synchronized void checked() {
        checking = null;
    }

    /**
     * Ends the row check's runs in progress ({@link OnnxSession#stopRuns()}), as the server stops: the loader
     * thread running them must not be inside ONNX Runtime when the process exits. The load then fails.
     */
    synchronized void stopChecks() {
        if (checking != null) {
            LOG.warnf("model %s/%s is checking its rows as the server stops; stopping that run", name(), version());
            checking.stopRuns();
        }
    }

    void moveTo(ModelState next, String why) {
        this.reason = why;
        this.state = next;
    }

    /** Metadata as read from the session; inputs and outputs are empty unless loaded. */
    public ModelMetadata metadata(List<String> versions) {
        OnnxSession s = session;
        List<TensorSpec> in = s == null ? List.of() : s.inputs();
        List<TensorSpec> out = s == null ? List.of() : s.outputs();
        String provider = s == null ? settings.provider().label() : s.provider();
        return new ModelMetadata(name(), version(), versions, ModelMetadata.PLATFORM, provider, in, out);
    }

    /**
     * How this version is served: batching when it loaded as a batching model (every input and output
     * with a variable first dimension, and a batch limit above 1) and a batch's outputs have led with its
     * rows so far, else one request per run as it comes (then {@code max_batch_size} 0, and the first
     * dimension among each tensor's dims, as Triton describes a model without a batch dimension).
     */
    public ModelConfiguration configuration() {
        OnnxSession s = session;
        boolean batched = s != null && batchesRows();
        Optional<ModelConfiguration.Batching> batching = batched
                ? Optional.of(new ModelConfiguration.Batching(
                        // as BatchPolicy keeps them: a preferred size past the batch limit is never formed
                        settings.preferredBatchSizes().stream().filter(n -> n <= settings.maxBatchSize())
                                .sorted().toList(),
                        settings.maxQueueDelayMicros(), settings.priorityLevels(), settings.queueSize()))
                : Optional.empty();
        boolean gpu = s == null ? settings.provider().gpu() : !ExecutionProvider.CPU.label().equals(s.provider());
        return new ModelConfiguration(name(), version(), batched ? settings.maxBatchSize() : 0,
                s == null ? List.of() : s.inputs(), s == null ? List.of() : s.outputs(), batching,
                settings.instances(), gpu ? Optional.of(settings.deviceId()) : Optional.empty(),
                settings.cacheEnabled(), settings.versionPolicy());
    }

    /**
     * Validates {@code request}, admits it through the model's guard and schedules it. Validation
     * failures, a passed deadline, a full bulkhead and an open circuit come back as a failed {@link
     * Uni} at once; cancelling the {@link Uni} takes the request out of the queue.
     */
    public Uni<InferResponse> infer(InferRequest request) {
        return infer(() -> request);
    }

    /**
     * {@link #infer(InferRequest)} with its spans under {@code trace}, the caller's trace context, for a run that
     * may start on another thread than the request's (the response cache's, for a follower whose shared run
     * failed under it): the current context there is not the request's.
     */
    public Uni<InferResponse> infer(InferRequest request, io.opentelemetry.context.Context trace) {
        return traced(() -> request, true, trace, batchesRows(), levelOf(request));
    }

    /**
     * {@link #infer(InferRequest, io.opentelemetry.context.Context)} ranking classifications per row when {@code
     * perRow}: the {@link #ranksPerRow()} its cache key was made with.
     */
    public Uni<InferResponse> infer(InferRequest request, boolean perRow, io.opentelemetry.context.Context trace) {
        return traced(() -> request, true, trace, perRow, levelOf(request));
    }

    /**
     * {@link #infer(InferRequest)} for the request {@code parse} reads, called only once the model's guard
     * has not turned the arrival away ({@link ModelGuard#turnsAway(int)}): a rejection costs no parsing.
     */
    public Uni<InferResponse> infer(Supplier<InferRequest> parse) {
        return infer(parse, 0);
    }

    /**
     * {@link #infer(Supplier)} for a request that can run at level {@code highest} at best (0 the highest level, as
     * {@link #priorityLevel} counts), known before it is read (its tenant's {@code priority.highest}): a full model
     * turns it away unread unless a request waits below that level, whose place it might take.
     */
    public Uni<InferResponse> infer(Supplier<InferRequest> parse, int highest) {
        return traced(parse, true, io.opentelemetry.context.Context.current(), batchesRows(), highest);
    }

    /**
     * Whether {@link #infer(Supplier, int)} would turn a request of level {@code highest} at best away now, unread
     * (not ready, or full without a lower level waiting): an adapter asks before it sends a body to be read
     * elsewhere, so that such a request is answered at once rather than after its wait there.
     */
    public boolean turnsAway(int highest) {
        ModelGuard g = guard;
        return session == null || scheduler == null || g == null || g.turnsAway(highest) != null;
    }

    /**
     * A warmup request: validation, the scheduler and its batcher, the runtime, as a request takes them, but not
     * the guard, which is admission, not execution. Its {@code admission.timeout} (60 s) would fail a model whose
     * first run of a shape takes longer, as a TensorRT engine build may; warmup has its own budget.
     */
    Uni<InferResponse> warm(InferRequest request) {
        return traced(() -> request, false, io.opentelemetry.context.Context.current(), batchesRows(), 0);
    }

    /** The level {@code request} runs at, for the guard's early look; 0 for a priority validation will refuse. */
    private int levelOf(InferRequest request) {
        return request.priority() < 0 ? 0 : priorityLevel(request.priority());
    }

    private Uni<InferResponse> traced(Supplier<InferRequest> parse, boolean guarded,
            io.opentelemetry.context.Context parent, boolean perRow, int highest) {
        Tracing.RequestTrace trace = tracing.request(name(), version(), parent);
        return infer(parse, trace, guarded, perRow, highest)
                .onTermination().invoke((item, failure, cancelled) -> trace.end(failure));
    }

    /**
     * {@code perRow}: the request's ranking, read as it arrived ({@link #ranksPerRow()}); {@code highest}: the highest
     * level it can run at, known before it is read.
     */
    private Uni<InferResponse> infer(Supplier<InferRequest> parse, Tracing.RequestTrace trace, boolean guarded,
            boolean perRow, int highest) {
        OnnxSession s = session;
        ModelScheduler sched = scheduler;
        ModelGuard g = guard;
        if (s == null || sched == null || g == null) {
            return Uni.createFrom().failure(notReady());
        }
        InferenceException.Unavailable early = guarded ? g.turnsAway(highest) : null;
        if (early != null) {
            return Uni.createFrom().failure(early);
        }
        InferRequest request;
        RequestValidation.Validated valid;
        int level;
        try {
            request = parse.get();
            valid = RequestValidation.validate(request, s.inputs(), s.outputs(), perRow, OnnxSession::canFeed);
            level = priorityLevel(request.priority());
        } catch (RuntimeException e) {
            return Uni.createFrom().failure(e);
        }
        ModelGuard.Work scheduled = queueDeadline -> Uni.createFrom().emitter(emitter -> {
            Job job = new Job(valid.inputs(), valid.outputs(), valid.rows(), valid.signature(), level,
                    queueDeadline, trace,
                    outputs -> answer(emitter, request, outputs, perRow),
                    emitter::fail);
            emitter.onTermination(() -> sched.cancel(job));
            trace.admitted(); // before submit: an idle instance may run and finish the job at once
            sched.submit(job);
        });
        Uni<InferResponse> result = guarded
                ? g.run(scheduled, request.deadlineNanos(), level)
                : scheduled.start(request.deadlineNanos());
        if (request.hasDeadline()) {
            long remaining = request.deadlineNanos() - System.nanoTime();
            if (remaining <= 0) {
                return Uni.createFrom().failure(
                        new InferenceException.DeadlineExceeded("deadline passed before '" + name() + "' was scheduled"));
            }
            result = result.ifNoItem().after(InferRequest.timerDelay(remaining)).failWith(
                    () -> new InferenceException.DeadlineExceeded("deadline passed while '" + name() + "' was busy"));
        }
        return result;
    }

    /**
     * Completes {@code emitter} with the job's outputs, classified where the request asked, per row when {@code
     * perRow}; never throws.
     */
    private void answer(UniEmitter<? super InferResponse> emitter, InferRequest request, List<Tensor> outputs,
            boolean perRow) {
        List<Tensor> answered;
        try {
            // ranked per row while the model batched when the request came, as the configuration then told clients,
            // and as its cache key says: not read again here, where a stop in between would make them disagree
            answered = Classification.apply(outputs, request.classifications(), perRow);
        } catch (RuntimeException | Error e) { // validation allows only what ranks: a bug, but the caller is answered
            emitter.fail(new InferenceException.RuntimeFailure(
                    "the outputs of '" + name() + "' could not be classified: " + e, e));
            return;
        }
        emitter.complete(new InferResponse(name(), version(), request.id(), Map.of(), answered));
    }

    InferenceException.Unavailable notReady() {
        return notReady(state);
    }

    /**
     * The 503 of this version found in state {@code seen}. A FAILED one gives its reason; one closed as the server
     * stops keeps its last state (READY, say) for the index, which is no reason for a 503.
     */
    InferenceException.Unavailable notReady(ModelState seen) {
        String what = seen == ModelState.FAILED ? seen + ": " + reason : shutDown ? "shutting down" : seen.toString();
        // a replica shutting down is gone in a moment: retry soon, elsewhere (as its scheduler's own 503 says)
        return new InferenceException.Unavailable(InferenceException.Unavailable.Reason.NOT_READY,
                "model '" + name() + "' version " + version() + " is " + what,
                Duration.ofSeconds(shutDown && seen != ModelState.FAILED ? 1 : 5));
    }

    /**
     * The scheduler's level for a request's {@code priority}: 1 the highest; 0, and any value past the model's
     * levels, its default level, the lowest (as Triton reads a priority it has no level for).
     *
     * @throws InferenceException.InvalidInput for a negative priority
     */
    public int priorityLevel(int priority) {
        int levels = settings.priorityLevels();
        if (priority < 0) {
            throw new InferenceException.InvalidInput("priority " + priority + " is negative; levels are 1 (the highest) to "
                    + levels + ", 0 the default");
        }
        if (priority == 0 || priority > levels) {
            return levels - 1;
        }
        return priority - 1;
    }

    /**
     * Stops the scheduler (draining it for at most 5 s) and closes the session; idempotent. A batch still
     * running then is stopped ({@link OnnxSession#stopRuns()}; its requests get 503) and waited for, at most
     * 2 s more. A session whose instance threads are still inside a run after that stays open: freeing native
     * memory under a running batch crashes the process (seen when a server stopped during warmup).
     */
    void close() {
        close(Duration.ofSeconds(5));
    }

    /** {@link #close()} as the server stops: from then on a request is told the server is shutting down. */
    void shutDown() {
        shutDown = true;
        close();
    }

    /** {@link #close()} with a drain of {@code drain} before a running batch is stopped. */
    synchronized void close(Duration drain) {
        closed = true;
        stopChecks();
        ModelScheduler s = scheduler;
        OnnxSession o = session;
        scheduler = null;
        session = null;
        guard = null;
        if (s != null) {
            s.close(drain.toNanos());
            if (!s.stopped() && o != null) {
                LOG.warnf("model %s/%s is still running a batch; stopping it", name(), version());
                o.stopRuns();
                s.awaitStopped(TimeUnit.SECONDS.toNanos(2));
            }
            if (!s.stopped()) {
                LOG.warnf("model %s/%s is still running a batch; its ONNX Runtime session is left open", name(), version());
                return;
            }
        }
        if (o != null) {
            o.close();
        }
    }
}
