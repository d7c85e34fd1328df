package io.sluice.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import grpc.health.v1.HealthOuterClass.HealthCheckResponse.ServingStatus;
import io.quarkus.grpc.runtime.health.GrpcHealthStorage;
import io.sluice.inference.InferenceService;
import io.sluice.model.ModelState;
import io.sluice.model.ModelStateChanged;
import jakarta.enterprise.inject.Instance;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The gRPC health answer follows readiness whatever order two loaders' readings of it come in. */
class GrpcServingStatusTest {

    /** Two models, X and Y: the server is ready once both are READY. A reading of "not ready" can be held. */
    private static final class TwoModels extends InferenceService {
        volatile boolean x;
        volatile boolean y;
        volatile CountDownLatch holdNotReady;
        final CountDownLatch heldNotReady = new CountDownLatch(1);

        @Override
        public boolean ready() {
            boolean ready = x && y;
            CountDownLatch hold = holdNotReady;
            if (!ready && hold != null) {
                heldNotReady.countDown();
                try {
                    hold.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return ready;
        }
    }

    @SuppressWarnings("unchecked")
    private static GrpcServingStatus status(InferenceService service, GrpcHealthStorage storage) {
        GrpcServingStatus status = new GrpcServingStatus();
        status.service = service;
        status.health = (Instance<GrpcHealthStorage>) Proxy.newProxyInstance(Instance.class.getClassLoader(),
                new Class<?>[] {Instance.class}, (p, m, a) -> switch (m.getName()) {
                    case "isResolvable" -> true;
                    case "get" -> storage;
                    default -> throw new UnsupportedOperationException(m.getName());
                });
        return status;
    }

    @Test
    void aReadingOfNotReadyTakenBeforeAnotherModelTurnedReadyNeverLandsLast() throws Exception {
        TwoModels service = new TwoModels();
        GrpcHealthStorage storage = new GrpcHealthStorage();
        GrpcServingStatus status = status(service, storage);
        CountDownLatch hold = new CountDownLatch(1);
        service.holdNotReady = hold;

        // loader A: X turns READY; A reads "not ready" (Y still warming) and is held there
        service.x = true;
        Thread a = new Thread(() -> status.onModelState(new ModelStateChanged("x", "1", ModelState.READY, null)));
        a.start();
        assertThat(service.heldNotReady.await(30, TimeUnit.SECONDS)).isTrue();
        // loader B: Y turns READY; B reads "ready", and either publishes it now or waits for A's publication
        service.holdNotReady = null;
        service.y = true;
        Thread b = new Thread(() -> status.onModelState(new ModelStateChanged("y", "1", ModelState.READY, null)));
        b.start();
        await().atMost(Duration.ofSeconds(30))
                .until(() -> b.getState() == Thread.State.BLOCKED || b.getState() == Thread.State.TERMINATED);
        hold.countDown(); // A goes on with its reading from before Y turned READY
        a.join(30_000);
        b.join(30_000);

        assertThat(service.ready()).isTrue();
        assertThat(storage.getStatuses().get(GrpcServingStatus.INFERENCE)).isEqualTo(ServingStatus.SERVING);
        assertThat(storage.getStatuses().get(GrpcHealthStorage.DEFAULT_SERVICE_NAME)).isEqualTo(ServingStatus.SERVING);
    }

    @Test
    void onceTheShutdownBeginsNoModelStateChangeTurnsItBackToServing() {
        TwoModels service = new TwoModels();
        service.x = true;
        service.y = true;
        GrpcHealthStorage storage = new GrpcHealthStorage();
        GrpcServingStatus status = status(service, storage);
        status.onModelState(new ModelStateChanged("x", "1", ModelState.READY, null));
        assertThat(storage.getStatuses().get(GrpcServingStatus.INFERENCE)).isEqualTo(ServingStatus.SERVING);

        status.onShutdownDelay(null);
        status.onModelState(new ModelStateChanged("y", "2", ModelState.READY, null)); // a load finishing late

        assertThat(storage.getStatuses().get(GrpcServingStatus.INFERENCE)).isEqualTo(ServingStatus.NOT_SERVING);
    }
}
