package io.sluice.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.sluice.TinyRepositoryResource;
import io.sluice.batching.BatchPolicy;
import io.sluice.batching.Job;
import io.sluice.batching.ModelScheduler;
import io.sluice.config.ModelSettings;
import io.sluice.config.SluiceConfig;
import io.sluice.fixtures.TinyModels;
import io.sluice.inference.Datatype;
import io.sluice.inference.InferRequest;
import io.sluice.inference.InferenceException;
import io.sluice.inference.Tensor;
import io.sluice.observability.Tracing;
import io.sluice.runtime.OnnxSession;
import io.sluice.runtime.SessionLoader;
import jakarta.inject.Inject;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Closing a model as the server stops: one closed while it was still loading takes nothing its load made
 * afterwards, and a batch that outlasts the drain is stopped, so that its requests are answered and the session
 * is freed before the process exits.
 */
@QuarkusTest
@QuarkusTestResource(TinyRepositoryResource.class)
class ServedModelCloseTest {

    @Inject
    SluiceConfig config;

    @Inject
    Tracing tracing;

    @Inject
    SessionLoader sessions;

    @Test
    void aLoadThatFinishesAfterCloseHandsOverNothing() {
        ServedModel model = new ServedModel(new ModelSource("late", 1, Path.of("late/1/model.onnx")),
                ModelSettings.resolve(config, "late"), tracing);
        model.close(); // the server stopped while the loader was inside ONNX Runtime
        assertThat(model.loaded(null, null, null, false)).isFalse();
        // and it answers as a model that is not ready, not with a half-made scheduler
        assertThat(model.infer(new InferRequest("late", null, null, Map.of(), List.of(), List.of(), 0,
                InferRequest.NO_DEADLINE, io.sluice.inference.Protocol.REST)).subscribeAsCompletionStage())
                .failsWithin(java.time.Duration.ofSeconds(5)).withThrowableThat().havingCause()
                .isInstanceOf(InferenceException.Unavailable.class);
    }

    @Test
    void aReadyModelClosedAsTheServerStopsSaysSoNotThatItIsReady() {
        ServedModel model = new ServedModel(new ModelSource("stopping", 1, Path.of("stopping/1/model.onnx")),
                ModelSettings.resolve(config, "stopping"), tracing);
        model.moveTo(ModelState.READY, null);
        model.shutDown();
        assertThat(model.infer(new InferRequest("stopping", null, null, Map.of(), List.of(), List.of(), 0,
                InferRequest.NO_DEADLINE, io.sluice.inference.Protocol.REST)).subscribeAsCompletionStage())
                .failsWithin(java.time.Duration.ofSeconds(5)).withThrowableThat().havingCause()
                .isInstanceOf(InferenceException.Unavailable.class)
                .withMessage("model 'stopping' version 1 is shutting down");
    }

    @Test
    void aModelClosedBecauseItsLoadFailedIsNotSaidToBeShuttingDown() {
        ServedModel model = new ServedModel(new ModelSource("failing", 1, Path.of("failing/1/model.onnx")),
                ModelSettings.resolve(config, "failing"), tracing);
        model.moveTo(ModelState.WARMING, null);
        model.close(); // the loader closes a model whose load failed before it records FAILED
        assertThat(model.notReady().getMessage()).isEqualTo("model 'failing' version 1 is WARMING");
        model.moveTo(ModelState.FAILED, "warmup failed");
        assertThat(model.notReady().getMessage()).isEqualTo("model 'failing' version 1 is FAILED: warmup failed");
    }

    @Test
    void aBatchThatOutlastsTheDrainIsStoppedAndTheSessionFreed() throws Exception {
        Path file = TinyModels.write(TinyModels.newRepository("sluice-close-long"), "long", 1, TinyModels.slow(20_000));
        ModelSettings settings = ModelSettings.resolve(config, "long");
        OnnxSession session = sessions.load("long", file, settings);
        ModelScheduler scheduler = new ModelScheduler("long", BatchPolicy.unbatched(4), 1,
                (inputs, outputs, traces) -> session.run(inputs, outputs), (requests, rows, nanos) -> { },
                System::nanoTime, Thread::new);
        ServedModel model = new ServedModel(new ModelSource("long", 1, file), settings, tracing);
        assertThat(model.loaded(session, scheduler, null, false)).isTrue();
        CompletableFuture<List<Tensor>> answer = new CompletableFuture<>();
        // 512 rows through 20,000 MatMuls: seconds of work, far past a drain of 50 ms
        scheduler.submit(new Job(List.of(rows(512)), List.of(), 512, null, 0, Long.MAX_VALUE, null, answer::complete,
                answer::completeExceptionally));
        await().atMost(Duration.ofSeconds(10)).until(() -> scheduler.inflight() == 1);

        model.close(Duration.ofMillis(50));

        assertThat(scheduler.stopped()).isTrue();
        assertThat(answer).failsWithin(Duration.ZERO).withThrowableThat().havingCause()
                .isInstanceOf(InferenceException.Unavailable.class).withMessageContaining("shutting down");
        // freed: ONNX Runtime's Java API refuses a closed session
        assertThatThrownBy(() -> session.run(List.of(rows(1)), List.of())).isInstanceOf(IllegalStateException.class);
    }

    private static Tensor rows(int n) {
        ByteBuffer data = ByteBuffer.allocate(n * TinyModels.SLOW_WIDTH * 4).order(ByteOrder.LITTLE_ENDIAN);
        return new Tensor("X", Datatype.FP32, new long[] {n, TinyModels.SLOW_WIDTH}, data);
    }
}
