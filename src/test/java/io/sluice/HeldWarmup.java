package io.sluice;

import io.sluice.model.ModelState;
import io.sluice.model.ModelStateChanged;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Test hook: holds any model named {@value #MODEL} in WARMING until {@link #release()} (bounded by a
 * minute), so a test can watch readiness while a warmup is still running. Other models pass through.
 */
@ApplicationScoped
public class HeldWarmup {

    /** The model name this hook holds. */
    public static final String MODEL = "held-warmup";

    private static volatile CountDownLatch gate = new CountDownLatch(1);

    void onChange(@Observes ModelStateChanged change) throws InterruptedException {
        if (MODEL.equals(change.model()) && change.state() == ModelState.WARMING) {
            gate.await(1, TimeUnit.MINUTES);
        }
    }

    /** Lets the held warmup go on. */
    public static void release() {
        gate.countDown();
    }
}
