package io.sluice.runtime;

import ai.onnxruntime.OrtEnvironment;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import org.jboss.logging.Logger;

/**
 * Keeps ONNX Runtime's environment alive until the process ends.
 *
 * <p>ONNX Runtime's Java API registers a JVM shutdown hook that releases the environment. The JVM starts every
 * hook at once, so on SIGTERM that release came at the start of Quarkus's graceful shutdown, while Sluice still
 * served through the shutdown delay and the drain and then stopped its models. After it, a new session fails
 * ("Attempt to use DefaultLogger but none has been registered"), and a batch still running as the process
 * exited crashed it (SIGSEGV in {@code libonnxruntime.so}; {@code LongBatchShutdownIT} reproduced it).
 *
 * <p>The native environment is one per process and counts its references: each creation returns the same one
 * and adds a reference, each release takes one away. One more reference, taken here and never given back,
 * turns the hook's release into a decrement; the operating system frees the environment with the process.
 *
 * <p>ONNX Runtime's Java API has no public call for it, so this calls its private {@code createHandle} by
 * reflection (the class is on the class path, so no {@code --add-opens} is needed; the native image lists the
 * members in {@code reflect-config.json}). If that fails, a warning says so and the server runs as before.
 */
final class EnvironmentHold {

    private static final Logger LOG = Logger.getLogger(EnvironmentHold.class);
    /** ONNX Runtime's {@code ORT_LOGGING_LEVEL_WARNING}, the level Sluice's environment logs at. */
    private static final int WARNING = 2;

    private static boolean held;

    private EnvironmentHold() {
    }

    /**
     * Takes the extra reference once (per class loader: each Quarkus app a test JVM starts takes one more, which
     * is harmless); true once it is held.
     */
    static synchronized boolean hold(OrtEnvironment environment) {
        if (held) {
            return true;
        }
        try {
            if (!take(environment)) {
                LOG.warnf("ONNX Runtime returned a second environment; it is left to the shutdown hook");
                return false;
            }
            held = true;
            return true;
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.warnf("ONNX Runtime's environment is released by its own shutdown hook, at the start of a "
                    + "shutdown (cannot hold it: %s)", e);
            return false;
        }
    }

    /** Takes one more reference on the environment; false when ONNX Runtime returned another one. */
    static boolean take(OrtEnvironment environment) throws ReflectiveOperationException {
        long taken = (long) createHandle().invoke(null, apiHandle(), WARNING, OrtEnvironment.DEFAULT_NAME);
        return taken == handle(environment);
    }

    /** The environment's native handle. */
    static long handle(OrtEnvironment environment) throws ReflectiveOperationException {
        Field field = OrtEnvironment.class.getDeclaredField("nativeHandle");
        field.setAccessible(true);
        return field.getLong(environment);
    }

    /** ONNX Runtime's API table, which every native call of its Java API takes. */
    static long apiHandle() throws ReflectiveOperationException {
        Field field = Class.forName("ai.onnxruntime.OnnxRuntime").getDeclaredField("ortApiHandle");
        field.setAccessible(true);
        return field.getLong(null);
    }

    private static Method createHandle() throws ReflectiveOperationException {
        Method method = OrtEnvironment.class.getDeclaredMethod("createHandle", long.class, int.class, String.class);
        method.setAccessible(true);
        return method;
    }
}
