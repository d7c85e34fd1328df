package io.sluice.runtime;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions;
import io.sluice.config.ExecutionProvider;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.Base64;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.jboss.logging.Logger;

/**
 * Finds out once per process whether a GPU provider can be had on a device. {@code
 * getAvailableProviders()} lists CUDA even without a GPU, so it proves nothing; the real test is to
 * create a session on the device: a one-node identity model (embedded below) with the provider
 * added. Adding the CUDA provider throws where its libraries (CUDA 12, cuDNN 9) cannot load, and
 * creating the session throws for a device that does not exist. Only ONNX Runtime's own JNI is used
 * (no JNA, unlike DJL's CUDA utilities), so the probe works the same in a native executable.
 * Results are memoised per provider and device.
 */
@ApplicationScoped
public class GpuProbe {

    private static final Logger LOG = Logger.getLogger(GpuProbe.class);

    /** An ONNX model: FLOAT input INPUT0 [1] copied to OUTPUT0 by one Identity node (124 bytes). */
    private static final byte[] PROBE_MODEL = Base64.getDecoder().decode(
            "CAgSDHNsdWljZS10ZXN0czpmCicKBklOUFVUMBIHT1VUUFVUMBoKSWRlbnRpdHlfMCIISWRlbnRpdHkSDmlkZW50aXR5X2Zsb2F0"
            + "WhQKBklOUFVUMBIKCggIARIECgIIAWIVCgdPVVRQVVQwEgoKCAgBEgQKAggBQgIQEQ==");

    private final ConcurrentMap<String, Optional<String>> results = new ConcurrentHashMap<>();

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
        try (SessionOptions options = new SessionOptions()) {
            if (provider == ExecutionProvider.TENSORRT) {
                options.addTensorrt(deviceId);
            }
            options.addCUDA(deviceId);
            try (OrtSession session = OrtEnvironment.getEnvironment().createSession(PROBE_MODEL, options)) {
                return Optional.empty();
            }
        } catch (OrtException | RuntimeException | LinkageError e) {
            return Optional.of(provider.label() + " unavailable on device " + deviceId + ": " + e.getMessage());
        }
    }
}
