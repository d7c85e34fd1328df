package io.sluice.runtime;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.onnxruntime.engine.OrtEngine;
import ai.onnxruntime.OrtEnvironment;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import org.jboss.logging.Logger;

/**
 * The process-wide ONNX Runtime, obtained through DJL's engine registry. DJL sends usage telemetry
 * and looks for alternative engines unless told not to; this class switches both off before any
 * DJL class initialises, so no code path can reach the network.
 */
@ApplicationScoped
public class OnnxEngine {

    private static final Logger LOG = Logger.getLogger(OnnxEngine.class);

    static {
        disableTelemetry();
    }

    private Engine engine;
    private OrtEnvironment environment;

    @PostConstruct
    void start() {
        engine = Engine.getEngine(OrtEngine.ENGINE_NAME);
        environment = OrtEnvironment.getEnvironment();
        LOG.infof("ONNX Runtime %s through DJL %s", environment.getVersion(), Engine.getDjlVersion());
    }

    /** Sets the switches DJL reads: no telemetry, offline, no alternative engine. Idempotent. */
    public static void disableTelemetry() {
        System.setProperty("OPT_OUT_TRACKING", "true");
        System.setProperty("ai.djl.offline", "true");
        System.setProperty("ai.djl.onnx.disable_alternative", "true");
    }

    /** The shared ONNX Runtime environment. */
    public OrtEnvironment environment() {
        return environment;
    }

    /** The ONNX Runtime version. */
    public String version() {
        return environment.getVersion();
    }

    /**
     * DJL's default device. DJL finds it once per process by adding the CUDA provider to throw-away
     * session options (seconds on a machine without CUDA); {@link GpuProbe} reuses that answer.
     */
    Device defaultDevice() {
        return engine.defaultDevice();
    }

    /** A new, empty DJL model on this engine; the caller gives it a block and closes it. */
    Model newModel(String name) {
        return engine.newModel(name, Device.cpu());
    }
}
