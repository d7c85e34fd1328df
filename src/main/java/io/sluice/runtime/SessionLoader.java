package io.sluice.runtime;

import ai.djl.Model;
import ai.djl.onnxruntime.engine.OrtNDManager;
import ai.djl.onnxruntime.engine.OrtSymbolBlock;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions;
import ai.onnxruntime.providers.OrtCUDAProviderOptions;
import ai.onnxruntime.providers.OrtTensorRTProviderOptions;
import io.sluice.config.ExecutionProvider;
import io.sluice.config.GpuUnavailablePolicy;
import io.sluice.config.ModelSettings;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.jboss.logging.Logger;

/**
 * Creates {@link OnnxSession}s: picks the execution provider the settings ask for, falls back to
 * CPU or fails as configured when a GPU provider cannot be had, sets the thread layout explicitly
 * (intra- and inter-op both, since DJL ignores intra-op threads alone), and hands the session to a
 * DJL model that owns its lifetime.
 */
@ApplicationScoped
public class SessionLoader {

    private static final Logger LOG = Logger.getLogger(SessionLoader.class);

    @Inject
    OnnxEngine engine;

    @Inject
    GpuProbe probe;

    /**
     * Loads {@code file} for model {@code name} on the provider its settings ask for. With {@code
     * on-gpu-unavailable=fallback} a GPU provider that cannot be had steps down: TensorRT to CUDA, CUDA to the
     * CPU, each step logged with its reason; with {@code fail} the model fails with the reason instead. A GPU
     * cannot be had when the probe finds none, or when ONNX Runtime cannot start the session on it (too little
     * memory, a missing CUDA, cuDNN or TensorRT library, a device id that is not there). A model that is wrong
     * in itself ({@link ModelLoadException}) fails at once, on any provider.
     *
     * @throws ModelLoadException when the provider policy says fail, or ONNX Runtime rejects the file
     */
    public OnnxSession load(String name, Path file, ModelSettings settings) {
        ExecutionProvider wanted = settings.provider();
        boolean fail = settings.onGpuUnavailable() == GpuUnavailablePolicy.FAIL;
        List<ExecutionProvider> tries = !wanted.gpu() ? List.of()
                : wanted == ExecutionProvider.TENSORRT && !fail
                        ? List.of(ExecutionProvider.TENSORRT, ExecutionProvider.CUDA)
                        : List.of(wanted);
        List<String> reasons = new ArrayList<>();
        Set<String> anyRank = OnnxShapes.withoutShape(file); // read once, whichever provider takes the model
        for (ExecutionProvider provider : tries) {
            if (!reasons.isEmpty()) {
                LOG.warnf("model %s: %s; trying %s", name, reasons.get(reasons.size() - 1), provider.label());
            }
            Optional<String> unavailable = probe.unavailable(provider, settings.deviceId());
            if (unavailable.isPresent()) {
                reasons.add(unavailable.get());
                continue;
            }
            try {
                return open(name, file, settings, provider, anyRank);
            } catch (ModelLoadException e) {
                throw e; // the model itself, not the provider: it would fail the same way on the CPU
            } catch (OrtException e) {
                if (theModelsFault(e)) { // not the GPU's: the next provider would read the same bytes
                    throw new ModelLoadException("ONNX Runtime cannot load " + file.getFileName() + ": " + e.getMessage());
                }
                reasons.add("ONNX Runtime cannot load " + file.getFileName() + " on " + provider.label() + ": "
                        + e.getMessage());
            } catch (RuntimeException | LinkageError e) {
                reasons.add("ONNX Runtime cannot load " + file.getFileName() + " on " + provider.label() + ": "
                        + e.getMessage());
            }
        }
        if (!reasons.isEmpty()) {
            if (fail) {
                throw new ModelLoadException(String.join("; ", reasons) + " (on-gpu-unavailable=fail)");
            }
            LOG.warnf("model %s: %s; falling back to cpu", name, reasons.get(reasons.size() - 1));
        }
        try {
            return open(name, file, settings, ExecutionProvider.CPU, anyRank);
        } catch (ModelLoadException e) {
            throw e;
        } catch (OrtException | RuntimeException | LinkageError e) {
            throw new ModelLoadException("ONNX Runtime cannot load " + file.getFileName() + " on cpu: " + e.getMessage());
        }
    }

    /**
     * Whether ONNX Runtime refused the file itself, before any provider had a part: not protobuf, no model. Such a
     * model fails at once on any provider, named as the model's fault. (An invalid graph is not counted: a GPU
     * provider's own rewrite of the graph may be what makes it so, and the CPU may still run it.)
     */
    static boolean theModelsFault(OrtException e) {
        OrtException.OrtErrorCode code = e.getCode(); // compared, not switched on: a switch's map class would be
        return code == OrtException.OrtErrorCode.ORT_INVALID_PROTOBUF // one more to initialise at run time (native)
                || code == OrtException.OrtErrorCode.ORT_NO_MODEL; // not INVALID_GRAPH: a provider's rewrite may cause it
    }

    private OnnxSession open(String name, Path file, ModelSettings settings, ExecutionProvider provider,
            Set<String> anyRank) throws OrtException {
        try (SessionOptions options = options(settings, provider)) {
            OrtSession session = create(name, file, options, settings.threadNice());
            Model model = null;
            boolean owned = false;
            try {
                model = engine.newModel(name);
                model.setBlock(new OrtSymbolBlock(session, (OrtNDManager) model.getNDManager()));
                owned = true; // from here the DJL model closes the session (as OnnxSession.close does)
                return new OnnxSession(model, session, engine.environment(), provider.label(), anyRank);
            } catch (OrtException | RuntimeException | Error e) {
                // nothing will use them (on a GPU the session holds device memory): close before failing or falling back
                closeQuietly(owned ? model : null, owned ? null : session, owned ? null : model, e);
                throw e;
            }
        }
    }

    private static void closeQuietly(AutoCloseable first, AutoCloseable second, AutoCloseable third, Throwable cause) {
        for (AutoCloseable c : new AutoCloseable[] {first, second, third}) {
            if (c != null) {
                try {
                    c.close();
                } catch (Exception e) {
                    cause.addSuppressed(e);
                }
            }
        }
    }

    /** Creates the session on a thread at the model's nice value, which ONNX Runtime's pool inherits. */
    private OrtSession create(String name, Path file, SessionOptions options, int nice) throws OrtException {
        try {
            return RuntimeThreads.callAt(name, nice, () -> engine.environment().createSession(file.toString(), options));
        } catch (OrtException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The session options for {@code provider}; closed again if a provider cannot be added to them. */
    /** The session options for {@code provider}, with its execution provider added (a test may pretend it was). */
    SessionOptions options(ModelSettings settings, ExecutionProvider provider) throws OrtException {
        SessionOptions options = new SessionOptions();
        try {
            configure(options, settings, provider);
            return options;
        } catch (OrtException | RuntimeException | Error e) {
            options.close();
            throw e;
        }
    }

    private static void configure(SessionOptions options, ModelSettings settings, ExecutionProvider provider)
            throws OrtException {
        options.setIntraOpNumThreads(settings.intraOpThreads());
        options.setInterOpNumThreads(settings.interOpThreads());
        options.setExecutionMode(settings.interOpThreads() > 1
                ? SessionOptions.ExecutionMode.PARALLEL
                : SessionOptions.ExecutionMode.SEQUENTIAL);
        options.setOptimizationLevel(SessionOptions.OptLevel.ALL_OPT);
        switch (provider) {
            case CUDA -> addCuda(options, settings);
            case TENSORRT -> {
                addTensorrt(options, settings);
                addCuda(options, settings);
            }
            case CPU -> { }
        }
    }

    /** Adds CUDA; ONNX Runtime copies the provider options, so they are freed again here, added or not. */
    private static void addCuda(SessionOptions options, ModelSettings settings) throws OrtException {
        try (OrtCUDAProviderOptions cuda = new OrtCUDAProviderOptions(settings.deviceId())) {
            if (settings.gpuMemoryLimit().isPresent()) {
                cuda.add("gpu_mem_limit", Long.toString(settings.gpuMemoryLimit().get()));
            }
            options.addCUDA(cuda);
        }
    }

    /** Adds TensorRT; its provider options are freed again here, added or not. */
    private static void addTensorrt(SessionOptions options, ModelSettings settings) throws OrtException {
        try (OrtTensorRTProviderOptions trt = new OrtTensorRTProviderOptions(settings.deviceId())) {
            trt.add("trt_fp16_enable", settings.tensorrtFp16() ? "1" : "0");
            if (settings.tensorrtEngineCache().isPresent()) {
                trt.add("trt_engine_cache_enable", "1");
                trt.add("trt_engine_cache_path", settings.tensorrtEngineCache().get());
            }
            options.addTensorrt(trt);
        }
    }
}
