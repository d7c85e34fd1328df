package io.sluice.runtime;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.onnxruntime.engine.OrtEngine;
import ai.onnxruntime.OrtEnvironment;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import java.lang.reflect.Field;
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
        disableTelemetry(); // again at run time: a native image may have run the static block at build time
        engine = Engine.getEngine(OrtEngine.ENGINE_NAME);
        environment = OrtEnvironment.getEnvironment();
        EnvironmentHold.hold(environment); // not released by ONNX Runtime's shutdown hook under running sessions
        skipDjlCudaProbe();
        LOG.infof("ONNX Runtime %s through DJL %s", environment.getVersion(), Engine.getDjlVersion());
    }

    /**
     * DJL picks its default device the first time a model is created, by adding the CUDA provider to
     * throw-away session options and counting GPUs through JNA: about 3.5 s, then a failure, on a
     * machine without CUDA. Sluice never uses that device (its DJL models are CPU-placed shells around
     * sessions it configures itself, and {@link GpuProbe} asks ONNX Runtime directly), so the device
     * is set to CPU up front and DJL's JNA path never runs. If DJL changes the field, this degrades to
     * DJL's own probe, never to a wrong answer.
     */
    private void skipDjlCudaProbe() {
        try {
            Field field = Engine.class.getDeclaredField("defaultDevice");
            field.setAccessible(true);
            if (field.get(engine) == null) {
                field.set(engine, Device.cpu());
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.debugf("DJL default device left to DJL: %s", e);
        }
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

    /** A new, empty DJL model on this engine; the caller gives it a block and closes it. */
    Model newModel(String name) {
        return engine.newModel(name, Device.cpu());
    }
}
