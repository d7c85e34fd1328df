package io.sluice.runtime;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Threads that run ONNX sessions. Each model instance gets one platform thread, named after the
 * model, so a thread dump shows which model a busy thread serves. An event loop runs a session only
 * in an idle instance's place, for runs shorter than {@code threads.event-loop-run-max-micros}
 * ({@code io.sluice.batching.CallerRuns}). The threads run at a configured nice value
 * ({@link ThreadNice}), below the event loops' priority.
 */
public final class RuntimeThreads {

    private RuntimeThreads() {}

    /** A factory of daemon threads named {@code sluice-run-<model>-<n>} that run at {@code nice}. */
    public static ThreadFactory forModel(String model, int nice) {
        ThreadNice.check(nice);
        AtomicInteger n = new AtomicInteger();
        return task -> {
            Thread t = new Thread(() -> {
                ThreadNice.apply(nice);
                task.run();
            }, "sluice-run-" + model + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /**
     * Runs {@code work} on a new thread {@code sluice-load-<model>} at {@code nice} and returns its
     * result. Threads ONNX Runtime starts inside it (the intra-op pool of a session being created)
     * inherit the nice value, so a model's own pool runs at the same priority as its instances.
     *
     * <p>An interrupt does not cut the wait short (the interrupt status is kept): the work uses what
     * the caller frees once this returns, such as the session options, and must be done with them.
     */
    static <T> T callAt(String model, int nice, Callable<T> work) throws Exception {
        ThreadNice.check(nice);
        FutureTask<T> task = new FutureTask<>(() -> {
            ThreadNice.apply(nice);
            return work.call();
        });
        Thread t = new Thread(task, "sluice-load-" + model);
        t.setDaemon(true);
        t.start();
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return task.get();
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof Exception cause) {
                        throw cause;
                    }
                    throw (Error) e.getCause();
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
