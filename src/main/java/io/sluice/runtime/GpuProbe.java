package io.sluice.runtime;

import ai.djl.util.cuda.CudaUtils;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession.SessionOptions;
import io.sluice.config.ExecutionProvider;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.jboss.logging.Logger;

/**
 * Finds out once per process whether a GPU provider can be had. {@code getAvailableProviders()}
 * lists CUDA even without a GPU, so it proves nothing; the real test is adding the provider to
 * throw-away session options, which takes seconds and throws on a machine without CUDA. DJL does
 * exactly that once to pick its default device, so CUDA reuses DJL's answer plus the GPU count;
 * TensorRT adds its own provider on top. Results are memoised per provider and device.
 */
@ApplicationScoped
public class GpuProbe {

    private static final Logger LOG = Logger.getLogger(GpuProbe.class);

    private final ConcurrentMap<String, Optional<String>> results = new ConcurrentHashMap<>();

    @Inject
    OnnxEngine engine;

    /** Empty when {@code provider} works on {@code deviceId}, else why it does not. */
    public Optional<String> unavailable(ExecutionProvider provider, int deviceId) {
        if (!provider.gpu()) {
            return Optional.empty();
        }
        return results.computeIfAbsent(provider.label() + ":" + deviceId, key -> probe(provider, deviceId));
    }

    /** How many probes actually ran (one per provider and device). */
    public int probes() {
        return results.size();
    }

    private Optional<String> probe(ExecutionProvider provider, int deviceId) {
        long start = System.nanoTime();
        Optional<String> reason = check(provider, deviceId);
        LOG.infof("GPU probe for %s device %d took %d ms: %s", provider.label(), deviceId,
                (System.nanoTime() - start) / 1_000_000, reason.orElse("available"));
        return reason;
    }

    private Optional<String> check(ExecutionProvider provider, int deviceId) {
        try {
            if (!engine.defaultDevice().isGpu()) {
                return Optional.of(provider.label() + " unavailable: ONNX Runtime cannot load its CUDA provider here");
            }
            int gpus = CudaUtils.getGpuCount();
            if (deviceId >= gpus) {
                return Optional.of(provider.label() + " unavailable: device " + deviceId + " requested, "
                        + gpus + " GPU(s) present");
            }
            if (provider == ExecutionProvider.TENSORRT) {
                try (SessionOptions options = new SessionOptions()) {
                    options.addTensorrt(deviceId);
                }
            }
            return Optional.empty();
        } catch (OrtException | RuntimeException | LinkageError e) {
            return Optional.of(provider.label() + " device " + deviceId + " unavailable: " + e.getMessage());
        }
    }
}
