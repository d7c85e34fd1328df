package io.sluice.model;

import io.quarkus.runtime.ShutdownDelayInitiatedEvent;
import io.quarkus.runtime.ShutdownEvent;
import io.sluice.inference.InferenceException;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.Function;
import java.util.function.ToIntFunction;

/**
 * Every model version known to this server, whatever its state. Lookups validate names first, so
 * an unknown or malformed name is a 404 and never touches the file system.
 */
@ApplicationScoped
public class ModelRegistry {

    private final Map<String, NavigableMap<Long, ServedModel>> models = new ConcurrentHashMap<>();
    private volatile boolean stopping;

    /**
     * The server's shutdown has begun (its delay, during which it still serves, or the stop itself): from now
     * on it is not ready, on the OIP endpoints as on {@code /q/health/ready}, so that clients and load
     * balancers that ask {@code /v2/health/ready} or gRPC {@code ServerReady} move on, as Triton reports
     * itself not ready once it starts to exit.
     */
    void onShutdownDelay(@Observes ShutdownDelayInitiatedEvent event) {
        stopping = true;
    }

    void onShutdown(@Observes ShutdownEvent event) {
        stopping = true;
    }

    void add(ServedModel model) {
        models.computeIfAbsent(model.name(), n -> new ConcurrentSkipListMap<>())
                .put(model.source().version(), model);
    }

    /**
     * The model version asked for, in any state; {@code version} null means the default: the highest READY
     * version, or the highest while none is READY (as Triton and KServe route a request without a version to
     * the highest one loaded, so a broken new version does not take the unversioned traffic down).
     *
     * @throws InferenceException.ModelNotFound for an unknown or malformed name or version
     */
    public ServedModel find(String name, String version) {
        NavigableMap<Long, ServedModel> versions = ModelRepository.validName(name) ? models.get(name) : null;
        if (versions == null || versions.isEmpty()) {
            throw new InferenceException.ModelNotFound("unknown model '" + name + "'");
        }
        if (version == null || version.isEmpty()) {
            return defaultVersion(versions);
        }
        ServedModel found = ModelRepository.validVersion(version) ? versions.get(Long.parseLong(version)) : null;
        if (found == null) {
            throw new InferenceException.ModelNotFound("unknown version '" + version + "' of model '" + name + "'");
        }
        return found;
    }

    /**
     * The model version asked for, if it is READY.
     *
     * @throws InferenceException.ModelNotFound for an unknown model or version
     * @throws InferenceException.Unavailable when it is not READY
     */
    public ServedModel ready(String name, String version) {
        ServedModel model = find(name, version);
        ModelState state = model.state(); // read once: the 503 names the state that refused it
        if (state != ModelState.READY) {
            throw model.notReady(state);
        }
        return model;
    }

    private static ServedModel defaultVersion(NavigableMap<Long, ServedModel> versions) {
        for (ServedModel m : versions.descendingMap().values()) {
            if (m.state() == ModelState.READY) {
                return m;
            }
        }
        return versions.lastEntry().getValue();
    }

    /** Whether this server has a model called {@code name}, in any state. */
    public boolean contains(String name) {
        return name != null && models.containsKey(name);
    }

    /** All versions of {@code name}, as text, lowest first. */
    public List<String> versions(String name) {
        return models.getOrDefault(name, new ConcurrentSkipListMap<>()).keySet().stream()
                .map(String::valueOf).toList();
    }

    /** Every model version. */
    public List<ServedModel> all() {
        return models.values().stream().map(NavigableMap::values).flatMap(Collection::stream).toList();
    }

    /** The sum of {@code value} of {@code part} over the loaded versions of {@code name}; for per-model gauges. */
    public <T> int sum(String name, Function<ServedModel, T> part, ToIntFunction<T> value) {
        return models.getOrDefault(name, new ConcurrentSkipListMap<>()).values().stream()
                .map(part).filter(Objects::nonNull).mapToInt(value).sum();
    }

    /**
     * True when the server has models, every required model serves (all its versions have settled and one
     * of them is READY, the one that answers requests without a version), and at least one version is READY (a
     * server whose models are all optional is not ready until one of them serves). A server that found no model at all
     * (an empty volume mounted over the repository, a wrong path) is not ready: it could only answer 404. A
     * FAILED version beside a READY one keeps the server ready (every replica reads the same repository, so a
     * broken new version would otherwise take the whole Service down); it shows in the health check's body,
     * in {@code sluice_model_ready} and in the {@code SluiceModelNotReady} alert. Once the shutdown has begun,
     * false.
     */
    public boolean requiredReady() {
        if (models.isEmpty() || stopping) {
            return false;
        }
        for (NavigableMap<Long, ServedModel> versions : models.values()) {
            Collection<ServedModel> all = versions.values();
            boolean required = all.stream().anyMatch(m -> m.settings().required());
            if (required && !(all.stream().allMatch(m -> m.state().settled())
                    && all.stream().anyMatch(m -> m.state() == ModelState.READY))) {
                return false;
            }
        }
        // and something serves: a server whose models are all optional and none READY could only answer 503
        return all().stream().anyMatch(m -> m.state() == ModelState.READY);
    }

    /**
     * The required models that will not serve in this process: every version FAILED. A load is not retried, so
     * only a restart can bring such a model back (a GPU out of memory, a volume read that failed once); the
     * liveness check reports them.
     */
    public List<String> requiredFailed() {
        List<String> failed = new ArrayList<>();
        for (Map.Entry<String, NavigableMap<Long, ServedModel>> model : models.entrySet()) {
            Collection<ServedModel> all = model.getValue().values();
            if (all.stream().anyMatch(m -> m.settings().required())
                    && all.stream().allMatch(m -> m.state() == ModelState.FAILED)) {
                failed.add(model.getKey());
            }
        }
        return failed;
    }

    /** True when no model at all is still loading or warming. */
    public boolean settled() {
        return all().stream().allMatch(m -> m.state().settled());
    }

    /**
     * True when no required model is still loading or warming: the startup probe's test. A model that is not
     * required loads on without holding the start back (a slow one would otherwise have the kubelet restart
     * the pod, its required models READY and all).
     */
    public boolean requiredSettled() {
        for (NavigableMap<Long, ServedModel> versions : models.values()) {
            Collection<ServedModel> all = versions.values();
            if (all.stream().anyMatch(m -> m.settings().required()) && !all.stream().allMatch(m -> m.state().settled())) {
                return false;
            }
        }
        return true;
    }
}
