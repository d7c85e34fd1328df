package io.sluice.model;

import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.sluice.admission.ModelGuard;
import io.sluice.admission.Tenants;
import io.sluice.batching.BatchListener;
import io.sluice.batching.BatchPolicy;
import io.sluice.batching.CallerRuns;
import io.sluice.batching.ModelScheduler;
import io.sluice.config.ExecutionProvider;
import io.sluice.config.ModelSettings;
import io.sluice.config.SluiceConfig;
import io.sluice.inference.Tensor;
import io.sluice.inference.TensorSpec;
import io.sluice.inference.WireWarmup;
import io.sluice.observability.SluiceMetrics;
import io.sluice.observability.Tracing;
import io.sluice.observability.VersionStatistics;
import io.sluice.runtime.OnnxSession;
import io.sluice.runtime.RuntimeThreads;
import io.sluice.runtime.SessionLoader;
import io.vertx.core.Context;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Event;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.jboss.logging.Logger;

/**
 * Loads every model found in the repositories when the server starts, on threads of its own so
 * HTTP comes up at once (liveness answers, readiness says not yet): up to {@code
 * sluice.repository.load-threads} versions at once, started in the repository's order. Each model goes
 * LOADING, then WARMING, then READY, or FAILED with its reason; one model failing never stops the others. Its
 * runs are bounded (warmup's and the row check's, 10 minutes each, the row check's ended between two nodes), and
 * its session's creation, which ONNX Runtime cannot stop, is waited for up to {@code
 * sluice.repository.session-timeout} when that is set: a creation that hangs with no limit, or a row check stuck
 * inside one node, holds its loader thread, and the other threads go on.
 */
@ApplicationScoped
public class ModelLoader {

    private static final Logger LOG = Logger.getLogger(ModelLoader.class);

    @Inject
    SluiceConfig config;

    @Inject
    ModelRegistry registry;

    @Inject
    SessionLoader sessions;

    @Inject
    Event<ModelStateChanged> events;

    @Inject
    SluiceMetrics metrics;

    @Inject
    Tracing tracing;

    @Inject
    Tenants tenants;

    /** The protocol adapters' parsing and writing, warmed with each model ({@link Warmup#requestPath}). */
    @Inject
    Instance<WireWarmup> wires;

    private ExecutorService loaders;

    void onStart(@Observes StartupEvent event) {
        int threads = config.repository().loadThreads();
        if (threads < 1) {
            throw new IllegalStateException("sluice.repository.load-threads must be at least 1, was " + threads);
        }
        config.repository().sessionTimeout().filter(t -> t.isZero() || t.isNegative()).ifPresent(t -> {
            throw new IllegalStateException("sluice.repository.session-timeout must be positive, was " + t);
        });
        List<ModelSource> sources = ModelRepository.served(ModelRepository.scan(
                config.repository().paths().stream().map(Path::of).toList(), config.repository().modelName()),
                name -> settings(name).versionPolicy());
        List<ServedModel> models = sources.stream()
                .map(s -> new ServedModel(s, settings(s.name()), tracing))
                .toList();
        models.forEach(registry::add);
        metrics.modelVersions(models.size()); // 0 as well: no per-model series would show a server with nothing to serve
        models.forEach(this::publishReady);
        models.stream().map(ServedModel::name).distinct().forEach(name -> {
            warnUnformedSizes(name, settings(name)); // once a model, not once a version
            metrics.modelCounters(name, tenants.names());
            metrics.scheduler(name, () -> registry.sum(name, ServedModel::scheduler, ModelScheduler::queueDepth),
                    () -> registry.sum(name, ServedModel::scheduler, ModelScheduler::inflight));
        });
        // per version: each has its own guard, and unversioned traffic goes to one of them, so a sum over the
        // versions would halve the held share of a saturated model serving two (SluiceQueueBacklog would not fire)
        models.forEach(m -> metrics.bulkhead(m.name(), m.version(),
                () -> m.guard() == null ? 0 : m.guard().held(), () -> m.guard() == null ? 0 : m.guard().limit()));
        LOG.infof("found %d model versions: %s", models.size(),
                models.stream().map(m -> m.name() + "/" + m.version()).toList());
        if (models.isEmpty()) {
            LOG.warnf("no model found under %s: the server stays not ready", config.repository().paths());
        }
        unknownModelKeys(config, models.stream().map(ServedModel::name).collect(java.util.stream.Collectors.toSet()))
                .forEach(LOG::warn);
        AtomicInteger named = new AtomicInteger();
        loaders = Executors.newFixedThreadPool(Math.max(1, Math.min(threads, models.size())), task -> {
            Thread t = new Thread(task, "sluice-model-loader-" + named.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        models.forEach(model -> loaders.execute(() -> load(model))); // started in the repository's order
        loaders.shutdown(); // its threads end once every model has been loaded
    }

    /**
     * A warning for each key that names a model the repository does not have: {@code sluice.models."<m>"}, and with
     * rate limiting on {@code sluice.tenants."<t>".models."<m>"}, whose bucket would then never be taken (a typo
     * in a model's name would leave the tenant on its looser tenant-wide bucket, or on none).
     */
    static List<String> unknownModelKeys(SluiceConfig config, java.util.Set<String> served) {
        List<String> warnings = new java.util.ArrayList<>();
        config.models().keySet().stream().filter(name -> !served.contains(name)).sorted().forEach(name -> warnings.add(
                "sluice.models.\"" + name + "\" configures no model in the repository (a typo?)"));
        if (config.rateLimit().enabled()) {
            new java.util.TreeMap<>(config.tenants()).forEach((tenant, t) -> t.models().keySet().stream()
                    .filter(name -> !served.contains(name)).sorted().forEach(name -> warnings.add(
                            "sluice.tenants.\"" + tenant + "\".models.\"" + name + "\" limits a model the repository does"
                                    + " not have (a typo?); tenant " + tenant + " is not limited by it")));
        }
        return warnings;
    }

    /** Preferred batch sizes above the batch limit: kept, not refused, since sizes under model-defaults meet models with a lower limit of their own. */
    private static void warnUnformedSizes(String model, ModelSettings settings) {
        List<Integer> unformed = settings.preferredBatchSizes().stream().filter(n -> n > settings.maxBatchSize()).toList();
        if (!unformed.isEmpty()) {
            LOG.warnf("model %s: batching.preferred-batch-sizes %s are above its batching.max-batch-size %d and are"
                    + " never formed", model, unformed, settings.maxBatchSize());
        }
    }

    /** A model's settings; a configuration error stops the start, naming the model and the key. */
    private ModelSettings settings(String model) {
        try {
            return ModelSettings.resolve(config, model);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("configuration of model '" + model + "': " + e.getMessage(), e);
        }
    }

    void onStop(@Observes ShutdownEvent event) {
        boolean interrupted = false;
        if (loaders != null) {
            loaders.shutdownNow(); // models not started stay unloaded; those loading are interrupted
            registry.all().forEach(ServedModel::stopChecks); // a row check's run ends within a node's time, then its load
            try {
                if (!loaders.awaitTermination(5, TimeUnit.SECONDS)) {
                    LOG.warnf("models still loading at shutdown, closed under their load: %s", registry.all().stream()
                            .filter(m -> m.state() == ModelState.LOADING || m.state() == ModelState.WARMING)
                            .map(m -> m.name() + "/" + m.version()).toList());
                }
            } catch (InterruptedException e) {
                interrupted = true; // the models are still closed below
            }
        }
        // all at once: each may drain for 5 s and stop a long batch for 2 s more, within the pod's grace period (90 s
        // on the Deployment: src/main/kubernetes/kubernetes.yml)
        List<Thread> closers = registry.all().stream()
                .map(model -> new Thread(() -> closeQuietly(model), "sluice-close-" + model.name() + "-" + model.version()))
                .toList();
        closers.forEach(Thread::start);
        for (Thread closer : closers) {
            while (closer.isAlive()) {
                try {
                    closer.join(); // each close is bounded (ServedModel.close)
                } catch (InterruptedException e) {
                    interrupted = true; // the sessions must not be freed under the process's exit: wait on
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(ServedModel model) {
        try {
            model.shutDown();
        } catch (RuntimeException e) { // the other models still stop their batches and free their sessions
            LOG.errorf(e, "model %s/%s did not close cleanly", model.name(), model.version());
        }
    }

    /**
     * What a cached answer of the model depends on besides the request: its files, the provider, TensorRT's
     * FP16 switch when TensorRT runs it, the ONNX Runtime version, and whether the model batches (a batching
     * model's {@code classification} ranks each row, another's the whole output). Replicas differing in any of
     * them (a rollout that changes one) never share an entry in Redis.
     */
    static String contents(String files, OnnxSession session, ModelSettings s, boolean batchable) {
        boolean fp16 = session.provider().equals("tensorrt") && s.tensorrtFp16();
        return files + "@" + session.provider() + (fp16 ? "+fp16" : "") + "@onnxruntime-" + session.runtimeVersion()
                + (batchable ? "@rows" : "@whole");
    }

    /**
     * A failed load's reason, as the repository index, readiness and the log give it. A file error's message is
     * only its path: this says what happened to the file (gone since the scan, a warmup sample missing, unreadable).
     */
    static String reason(Throwable e) {
        Throwable cause = e instanceof UncheckedIOException && e.getCause() != null ? e.getCause() : e;
        if (cause instanceof NoSuchFileException f) {
            return "no such file: " + f.getFile();
        } else if (cause instanceof AccessDeniedException f) {
            return "permission denied: " + f.getFile();
        } else if (cause instanceof FileSystemException f) {
            return "cannot read " + f.getFile() + (f.getReason() == null ? "" : ": " + f.getReason());
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    /**
     * {@code files}, the digest read before the session was made, if the files are still as {@code stamp} saw them
     * before it; else (a file written over in place meanwhile, so the session may hold other bytes than the digest
     * says) a digest of this load's own, with a warning: its cache entries are then never another replica's.
     */
    static String settled(String version, Path dir, String stamp, String files) {
        try {
            if (stamp == null || stamp.equals(ModelContents.stamp(dir))) {
                return files;
            }
        } catch (java.io.IOException gone) { // the folder went away under the session: as changed, not a failed load
            LOG.debugf(gone, "model %s: its files could not be listed again after the load", version);
        }
        LOG.warnf("model %s: its files changed while it loaded; its cached answers stay this load's own (load it again"
                + " to share them with other replicas)", version);
        return ModelContents.unshared();
    }

    private void load(ServedModel model) {
        ModelSettings s = model.settings();
        long start = System.nanoTime();
        long checkNanos = 0;
        boolean loaded = false;
        OnnxSession pending = null; // made, not yet handed over: this method closes it if it fails before
        try {
            transition(model, ModelState.LOADING, null);
            // the files as they are now, once: a repository updated by swapping a link (git-sync, a ConfigMap) between
            // the cache's digest of the files and the session's load would otherwise give the new files the old digest
            java.nio.file.Path file = model.source().file().toRealPath();
            // read before the session exists: a file that cannot be read fails the model before it holds native memory
            String stamp = s.cacheEnabled() ? ModelContents.stamp(file.getParent()) : null;
            String files = s.cacheEnabled() ? ModelContents.of(file.getParent()) : null;
            start = System.nanoTime();
            OnnxSession session = createSession(model, file, s);
            pending = session;
            model.loadNanos = System.nanoTime() - start;
            files = settled(model.name() + "/" + model.version(), file.getParent(), stamp, files);
            loaded = true;
            start = System.nanoTime(); // a failure from here on is reported as warmup time, not as the load's again
            cannotBeFed(session.inputs()); // with warmup off nothing else would find it before each request did
            boolean batchable = s.maxBatchSize() > 1
                    && !session.inputs().isEmpty() // a request without inputs has no rows to count
                    && session.inputs().stream().allMatch(TensorSpec::dynamicBatch)
                    && session.outputs().stream().allMatch(TensorSpec::dynamicBatch)
                    && (!s.warmupEnabled() || rowsIndependent(model, session));
            checkNanos = System.nanoTime() - start; // runs the model too: counted with its warmup
            start = System.nanoTime(); // the hand-over, then the warmup
            pending = null; // the model's from here, or closed by handOver when it fails
            if (!handOver(model, session, files, batchable)) {
                return;
            }
            transition(model, ModelState.WARMING, null);
            if (s.warmupEnabled()) {
                ModelScheduler scheduler = model.scheduler(); // before warmup: a shutdown meanwhile takes it away
                Warmup.Warmed warmed = Warmup.run(model, session.inputs(), batchable);
                if (scheduler != null) {
                    scheduler.knownGood(warmed == null ? null : warmed.knownGood());
                }
                if (warmed != null) {
                    Warmup.requestPath(model, warmed.knownGood(), warmed.answer(), wires);
                }
            }
            model.warmupNanos = checkNanos + System.nanoTime() - start;
            transition(model, ModelState.READY, null);
            LOG.infof("model %s/%s READY on %s: load %.3f s, warmup %.3f s (of which the row check %.3f s)", model.name(),
                    model.version(), session.provider(), model.loadSeconds(), model.warmupSeconds(), checkNanos / 1e9);
        } catch (Exception | Error e) { // an Error too (out of memory, no thread): its loader thread goes on to the next model
            String reason = reason(e);
            // what the failed step took, so that a FAILED version's times say where its start went
            if (loaded) {
                model.warmupNanos = checkNanos + System.nanoTime() - start;
            } else {
                model.loadNanos = System.nanoTime() - start;
            }
            LOG.errorf("model %s/%s FAILED: %s", model.name(), model.version(), reason);
            if (pending != null) { // failed between the session and its hand-over (the row check): the model never held it
                try {
                    pending.close();
                } catch (RuntimeException closing) {
                    LOG.errorf(closing, "model %s/%s: its session did not close cleanly", model.name(), model.version());
                }
            }
            try {
                model.close();
            } catch (RuntimeException closing) {
                LOG.errorf(closing, "model %s/%s did not close cleanly", model.name(), model.version());
            } finally {
                transition(model, ModelState.FAILED, reason);
            }
        }
    }

    /**
     * {@link SessionLoader#load}, waited for at most {@code sluice.repository.session-timeout} when that is set: past
     * it the version fails and this loader thread goes on to the next, while the creation, which ONNX Runtime cannot
     * stop, runs on in its own thread and closes the session it makes, if it ever does.
     */
    private OnnxSession createSession(ServedModel model, Path file, ModelSettings s) throws Exception {
        Optional<Duration> limit = config.repository().sessionTimeout();
        if (limit.isEmpty()) {
            return sessions.load(model.name(), file, s);
        }
        CompletableFuture<OnnxSession> made = new CompletableFuture<>();
        Thread creating = new Thread(() -> {
            try {
                made.complete(sessions.load(model.name(), file, s));
            } catch (Throwable e) { // an Error too: the loader thread waiting on it reports it
                made.completeExceptionally(e);
            }
        }, "sluice-create-" + model.name() + "-" + model.version());
        creating.setDaemon(true);
        creating.start();
        try {
            return made.get(limit.get().toNanos(), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception cause ? cause : new IllegalStateException(e.getCause());
        } catch (TimeoutException | InterruptedException e) {
            made.thenAccept(late -> {
                LOG.warnf("model %s/%s: its session was made after its load was given up; closing it", model.name(),
                        model.version());
                late.close();
            });
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("the server stopped while the model loaded");
            }
            throw new IllegalStateException("its session was not created within "
                    + limit.get().toString().substring(2).toLowerCase(Locale.ROOT)
                    + " (sluice.repository.session-timeout); ONNX Runtime is still at it on thread " + creating.getName());
        }
    }

    /** {@link RowIndependence#holds}, its runs stopped if the server stops meanwhile ({@link ServedModel#stopChecks()}). */
    private static boolean rowsIndependent(ServedModel model, OnnxSession session) {
        if (!model.checking(session)) {
            throw new IllegalStateException("the server stopped while the model loaded");
        }
        try {
            return RowIndependence.holds(model.name(), session, model.settings());
        } finally {
            model.checked();
        }
    }

    /**
     * Gives {@code model} its session, scheduler and guard; false when the server stopped while it loaded. On
     * false, and on any failure on the way (a scheduler thread that cannot start), the session and scheduler
     * are closed here: the model never held them, so its own close would not free them.
     */
    private boolean handOver(ServedModel model, OnnxSession session, String files, boolean batchable) {
        ModelSettings s = model.settings();
        ModelScheduler scheduler = null;
        boolean handedOver = false;
        try {
            if (files != null) { // before the model can answer: its files, and what runs them (all change its numbers)
                model.contents = contents(files, session, s, batchable);
            }
            BatchPolicy policy = batchable
                    ? new BatchPolicy(s.maxBatchSize(), TimeUnit.MICROSECONDS.toNanos(s.maxQueueDelayMicros()),
                            s.preferredBatchSizes(), s.capacity(), s.priorityLevels())
                    : new BatchPolicy(1, 0, List.of(), s.capacity(), s.priorityLevels());
            scheduler = new ModelScheduler(model.name(), policy, s.instances(),
                    tracing.traced(model.name(), model.version(), (inputs, outputs, traces) -> session.run(inputs, outputs)),
                    schedulerMetrics(model), System::nanoTime, RuntimeThreads.forModel(model.name(), s.threadNice()),
                    CallerRuns.watched(TimeUnit.MICROSECONDS.toNanos(s.eventLoopRunMaxMicros()),
                            Context::isOnEventLoopThread, session::stopRunOn));
            // a GPU model that fell back to the CPU sheds as a CPU model does (a queue of one, single rows)
            ModelSettings admission = s.provider().gpu() && ExecutionProvider.CPU.label().equals(session.provider())
                    ? ModelSettings.resolve(config, model.name(), ExecutionProvider.CPU) : s;
            handedOver = model.loaded(session, scheduler, ModelGuard.forModel(model.name(), admission, scheduler),
                    batchable);
            return handedOver; // false: the server stopped while this model loaded, and closed it
        } finally {
            if (!handedOver) { // nothing else will close these
                if (scheduler != null) {
                    scheduler.close();
                }
                session.close();
            }
        }
    }

    /** {@code sluice_model_ready} of a version, tagged with the provider it is configured for or runs on. */
    private void publishReady(ServedModel model) {
        metrics.modelReady(model.name(), model.version(), model.metadata(List.of()).provider(),
                () -> model.state() == ModelState.READY);
    }

    /** The scheduler's metrics, and the version's statistics of answered batches once it serves (not warmup's). */
    private BatchListener schedulerMetrics(ServedModel served) {
        String model = served.name();
        VersionStatistics statistics = served.statistics();
        return new BatchListener() {
            @Override
            public void ran(int requests, int rows, long nanos) {
                metrics.batch(model, rows, nanos);
            }

            @Override
            public void waited(long nanos) {
                metrics.queueWait(model, nanos);
            }

            @Override
            public void answered(int requests, int rows, long nanos, long waitedNanos) {
                if (served.state() == ModelState.READY) {
                    statistics.answered(requests, rows, nanos, waitedNanos);
                }
            }
        };
    }

    /** Fails a model with an input ONNX Runtime's Java API cannot create (UINT16, UINT32, UINT64), naming it. */
    static void cannotBeFed(List<TensorSpec> inputs) {
        for (TensorSpec input : inputs) {
            if (!OnnxSession.canFeed(input.datatype())) {
                throw new IllegalStateException("input '" + input.name() + "': datatype " + input.datatype()
                        + " cannot be fed to ONNX Runtime through its Java API");
            }
        }
    }

    private void transition(ServedModel model, ModelState state, String reason) {
        if (state.settled()) { // its times are known: a scrape that sees the settled state sees them too
            metrics.modelTimes(model.name(), model.version(), model::loadSeconds, model::warmupSeconds);
        }
        model.moveTo(state, reason);
        publishReady(model);
        events.fire(new ModelStateChanged(model.name(), model.version(), state, reason));
    }
}
