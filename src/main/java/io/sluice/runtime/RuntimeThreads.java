package io.sluice.runtime;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Threads that run ONNX sessions. Each model instance gets one platform thread, named after the
 * model, so a thread dump shows which model a busy thread serves. Event-loop threads never run a
 * session.
 */
public final class RuntimeThreads {

    private RuntimeThreads() {}

    /** A factory of daemon threads named {@code sluice-run-<model>-<n>}. */
    public static ThreadFactory forModel(String model) {
        AtomicInteger n = new AtomicInteger();
        return task -> {
            Thread t = new Thread(task, "sluice-run-" + model + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
