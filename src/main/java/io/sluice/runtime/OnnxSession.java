package io.sluice.runtime;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.sluice.inference.Datatype;
import io.sluice.inference.InferenceException;
import io.sluice.inference.Tensor;
import io.sluice.inference.TensorSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One loaded ONNX model version: the ONNX Runtime session, owned by a DJL model, its declared
 * inputs and outputs, and the provider it actually runs on. {@link #run} is thread-safe; it is
 * called from runtime instance threads, and from an event loop only for a run the scheduler judged to take no
 * more than {@code threads.event-loop-run-max-micros} (50 µs) in an idle instance's place. Each thread runs with run
 * options of its own, so that {@link #stopRunOn(Thread)} can end one thread's run and {@link #stopRuns()} every run
 * in progress.
 */
public final class OnnxSession implements AutoCloseable {

    private final AutoCloseable owner;
    private final OrtSession session;
    /** The run options of each thread that has run the session; freed with it. */
    private final Map<Thread, ThreadRuns> runOptions = new ConcurrentHashMap<>();
    private final OrtEnvironment env;
    private final String provider;
    private final List<TensorSpec> inputs;
    private final List<TensorSpec> outputs;
    private volatile boolean stopping;
    private volatile boolean closed;

    /**
     * @param owner what closes {@code session} (the DJL model holding it)
     */
    OnnxSession(AutoCloseable owner, OrtSession session, OrtEnvironment env, String provider) throws OrtException {
        this(owner, session, env, provider, Set.of());
    }

    /**
     * @param owner what closes {@code session} (the DJL model holding it)
     * @param anyRank the inputs and outputs the model declares without a shape ({@link OnnxShapes}), which ONNX
     *     Runtime reports as it reports scalars
     */
    OnnxSession(AutoCloseable owner, OrtSession session, OrtEnvironment env, String provider, Set<String> anyRank)
            throws OrtException {
        this.owner = owner;
        this.session = session;
        this.env = env;
        this.provider = provider;
        this.inputs = specs(session.getInputInfo(), anyRank);
        this.outputs = specs(session.getOutputInfo(), anyRank);
    }

    /** A thread's run options, and whether {@link #stopRunOn} has set them to end its run. */
    private static final class ThreadRuns {
        final OrtSession.RunOptions options;
        volatile boolean stopped;

        ThreadRuns(OrtSession.RunOptions options) {
            this.options = options;
        }
    }

    /** Declared inputs, in session order. */
    public List<TensorSpec> inputs() {
        return inputs;
    }

    /** Declared outputs, in session order. */
    public List<TensorSpec> outputs() {
        return outputs;
    }

    /** True when ONNX Runtime's Java API can take {@code datatype} as an input. */
    public static boolean canFeed(Datatype datatype) {
        return TensorConversion.javaType(datatype) != null;
    }

    /** The provider in use: {@code cpu}, {@code cuda} or {@code tensorrt}. */
    public String provider() {
        return provider;
    }

    /** The version of ONNX Runtime running the session, as it reports it ({@code 1.23.2}). */
    public String runtimeVersion() {
        return env.getVersion();
    }

    /**
     * Runs the model once.
     *
     * @param feed input tensors, already validated against {@link #inputs()}
     * @param wanted output names, in the order to return them; empty for all
     * @return the outputs
     * @throws InferenceException.RuntimeFailure when ONNX Runtime fails
     * @throws InferenceException.Unavailable when {@link #stopRuns()} ended the run, or came before it
     */
    public List<Tensor> run(List<Tensor> feed, List<String> wanted) {
        Map<String, OnnxTensor> onnxInputs = new HashMap<>();
        try {
            for (Tensor t : feed) {
                onnxInputs.put(t.name(), TensorConversion.toOnnx(env, t));
            }
            Set<String> names = wanted.isEmpty()
                    ? new LinkedHashSet<>(outputs.stream().map(TensorSpec::name).toList())
                    : new LinkedHashSet<>(wanted);
            try (OrtSession.Result result = run(onnxInputs, names)) {
                List<Tensor> out = new ArrayList<>(names.size());
                for (String name : names) {
                    OnnxValue value = result.get(name).orElseThrow();
                    out.add(TensorConversion.fromOnnx(name, (OnnxTensor) value));
                }
                return out;
            }
        } catch (OrtException e) {
            if (stopping) {
                throw new InferenceException.Unavailable(InferenceException.Unavailable.Reason.NOT_READY,
                        "the model is shutting down; its run was stopped", Duration.ofSeconds(1));
            }
            throw new InferenceException.RuntimeFailure("ONNX Runtime failed: " + e.getMessage(), e, mayBeTheInput(e));
        } finally {
            onnxInputs.values().forEach(OnnxTensor::close);
        }
    }

    /**
     * The run itself. A kernel that refuses the values it was given (ONNX Runtime's INVALID_ARGUMENT: a
     * Gather index past the vocabulary, say) is the request's fault, a 400 that never counts toward the
     * circuit breaker. Warmup runs every configured batch size first, so a model that fails that way on
     * its own at some batch size fails at load instead.
     */
    private OrtSession.Result run(Map<String, OnnxTensor> inputs, Set<String> names) throws OrtException {
        ThreadRuns mine = runsOf(Thread.currentThread());
        try {
            return session.run(inputs, names, mine.options);
        } catch (OrtException e) {
            if (e.getCode() == OrtException.OrtErrorCode.ORT_INVALID_ARGUMENT) {
                throw new InferenceException.InvalidInput("the model refused the input: " + statusMessage(e));
            }
            throw e;
        } finally {
            if (mine.stopped) {
                takeBackStop(mine);
            }
        }
    }

    /**
     * Whether the input may have caused {@code e}: a kernel that failed on what it was given (ORT_RUNTIME_EXCEPTION,
     * ORT_FAIL), not on memory or a device (an allocation, CUDA, cuDNN, cuBLAS, TensorRT), nor an execution
     * provider's or engine's own failure.
     */
    static boolean mayBeTheInput(OrtException e) {
        OrtException.OrtErrorCode code = e.getCode();
        return (code == OrtException.OrtErrorCode.ORT_RUNTIME_EXCEPTION || code == OrtException.OrtErrorCode.ORT_FAIL)
                && !RESOURCES.matcher(e.getMessage() == null ? "" : e.getMessage()).find();
    }

    private static final java.util.regex.Pattern RESOURCES = java.util.regex.Pattern.compile(
            "(?i)alloc|memory|cuda|cudnn|cublas|tensorrt|device");

    /** ONNX Runtime's own message, without its "Error code - ... - message:" prefix. */
    private static String statusMessage(OrtException e) {
        String m = e.getMessage() == null ? "" : e.getMessage();
        int at = m.indexOf("Status Message: ");
        if (at >= 0) {
            return m.substring(at + "Status Message: ".length()).strip();
        }
        int message = m.indexOf(" - message: ");
        return message >= 0 ? m.substring(message + " - message: ".length()).strip() : m;
    }

    /** Takes back the stop {@link #stopRunOn} set for the run that just ended, so that the thread's next run goes on. */
    private void takeBackStop(ThreadRuns mine) throws OrtException {
        synchronized (mine) { // not between a stop's flag and its terminate
            if (mine.stopped) {
                mine.stopped = false;
                mine.options.setTerminate(false);
                if (stopping) { // stopRuns() came meanwhile, and may have set these before the line above took it back
                    mine.options.setTerminate(true);
                }
            }
        }
    }

    /** {@code thread}'s run options, made at its first run of the session (or a stop of it that came first). */
    private ThreadRuns runsOf(Thread thread) throws OrtException {
        ThreadRuns runs = runOptions.get(thread);
        if (runs != null) {
            return runs;
        }
        ThreadRuns made = new ThreadRuns(new OrtSession.RunOptions());
        runs = runOptions.putIfAbsent(thread, made);
        if (runs != null) { // made by the other side meanwhile
            made.options.close();
            return runs;
        }
        if (stopping) { // after the put: stopRuns() either met these options or is seen here
            made.options.setTerminate(true);
        }
        return made;
    }

    /**
     * Asks ONNX Runtime to end the run {@code thread} is making now, between two of the graph's nodes (a loop's
     * iterations included); that run fails, and is the only one stopped: the stop is taken back as it ends, and later
     * runs on that thread or any other go on. For a caller that knows the run to be in progress or about to start on
     * {@code thread} (a run about to start then ends at once); a stop that comes as the run ends may end that thread's
     * next run instead.
     */
    public void stopRunOn(Thread thread) {
        if (closed) {
            return;
        }
        try {
            ThreadRuns theirs = runsOf(thread);
            synchronized (theirs) {
                theirs.stopped = true;
                theirs.options.setTerminate(true);
            }
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime cannot stop the run: " + e.getMessage(), e);
        }
    }

    /**
     * Asks ONNX Runtime to end every run of this session now, and fails every later one: each returns
     * {@link InferenceException.Unavailable}. ONNX Runtime looks at the request between the graph's nodes, so a
     * run ends within one node's time. For a shutdown that cannot wait for a long batch: the session must
     * not be freed under a running batch, so without this it stays open to the end.
     */
    public void stopRuns() {
        stopping = true;
        try {
            for (ThreadRuns runs : runOptions.values()) {
                runs.options.setTerminate(true);
            }
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime cannot stop the runs: " + e.getMessage(), e);
        }
    }

    /** Whether {@link #stopRuns()} has been called: every run from then on fails. */
    public boolean stopped() {
        return stopping;
    }

    /** Whether {@link #close()} has been called. */
    public boolean closed() {
        return closed;
    }

    /** Frees the session; only once no run is in progress. */
    @Override
    public void close() {
        closed = true;
        try {
            owner.close();
        } catch (Exception e) {
            throw new IllegalStateException("cannot close the session: " + e.getMessage(), e);
        } finally {
            runOptions.values().forEach(runs -> runs.options.close());
        }
    }

    private static List<TensorSpec> specs(Map<String, NodeInfo> nodes, Set<String> anyRank) {
        List<TensorSpec> specs = new ArrayList<>();
        for (NodeInfo node : nodes.values()) {
            if (!(node.getInfo() instanceof TensorInfo info)) {
                throw new ModelLoadException("'" + node.getName()
                        + "' is not a tensor (Sluice serves tensor inputs and outputs)");
            }
            Datatype datatype = TensorConversion.datatype(info.onnxType);
            if (datatype == null) {
                throw new ModelLoadException("'" + node.getName() + "' has a type Sluice cannot serve: " + info.onnxType);
            }
            long[] shape = info.getShape().clone();
            if (shape.length == 0 && anyRank.contains(node.getName())) {
                specs.add(TensorSpec.ofAnyRank(node.getName(), datatype));
                continue;
            }
            for (int i = 0; i < shape.length; i++) {
                shape[i] = shape[i] < 0 ? -1 : shape[i];
            }
            specs.add(new TensorSpec(node.getName(), datatype, shape));
        }
        return List.copyOf(specs);
    }
}
