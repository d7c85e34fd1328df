package io.sluice.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.sluice.TinyRepositoryResource;
import io.sluice.config.ModelSettings;
import io.sluice.config.SluiceConfig;
import io.sluice.inference.Datatype;
import io.sluice.inference.Tensor;
import io.sluice.observability.Tracing;
import io.sluice.fixtures.TinyModels;
import io.sluice.runtime.OnnxSession;
import io.sluice.runtime.SessionLoader;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The load's check that a variable first dimension is a batch: a model whose rows are a sequence is found out
 * by its outputs, which shapes alone cannot do; a model of independent rows passes.
 */
@QuarkusTest
@QuarkusTestResource(TinyRepositoryResource.class)
class RowIndependenceTest {

    @Inject
    SluiceConfig config;

    @Inject
    SessionLoader sessions;

    @Inject
    Tracing tracing;

    @Test
    void aSequenceWithoutABatchAxisIsNotBatched() throws Exception {
        // [a, b] gives [a, a + b] and [b, a] gives [b, a + b]: a's outputs change with its place
        assertThat(holds("running-sum", TinyModels.runningSum())).isFalse();
    }

    @Test
    void rowsThatAreABatchPass() throws Exception {
        assertThat(holds("add", TinyModels.add())).isTrue();
        assertThat(holds("matmul", TinyModels.matmul())).isTrue();
    }

    @Test
    void anOutputThatIsNotABatchIsLeftToTheBatchedWarmup() throws Exception {
        // its rows count non-zero elements: the batched warmup fails the model with the reason
        assertThat(holds("non-zero", TinyModels.nonZeroIndices())).isTrue();
    }

    @Test
    void aCheckWhoseTimeRunsOutFailsTheLoadNamingTheCheck() throws Exception {
        // the expiry fires before the runs start (an executor that runs it at once): they are stopped, not skipped
        try (Loaded loaded = load("add", TinyModels.add())) {
            assertThatThrownBy(() -> RowIndependence.holds("add", loaded.session, loaded.settings, Runnable::run))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("row check")
                    .hasMessageContaining("did not end within 10 minutes")
                    .hasMessageContaining("batching.max-batch-size=1");
            assertThat(loaded.session.stopped()).isTrue();
        }
    }

    @Test
    void anExpiryAfterTheCheckLeavesTheSessionServing() throws Exception {
        try (Loaded loaded = load("add", TinyModels.add())) {
            List<Runnable> expiries = new ArrayList<>();
            assertThat(RowIndependence.holds("add", loaded.session, loaded.settings, expiries::add)).isTrue();
            assertThat(expiries).hasSize(1);
            expiries.get(0).run(); // its time comes after the check ended: the model now serves on this session
            assertThat(loaded.session.stopped()).isFalse();
            assertThat(loaded.session.run(List.of(row("A"), row("B")), List.of())).hasSize(2); // SUM and DIFF
        }
    }

    @Test
    void aCheckTheServerStopsFailsTheLoadAsStoppedNotAsTimedOut() throws Exception {
        try (Loaded loaded = load("add", TinyModels.add())) {
            ServedModel model = new ServedModel(new ModelSource("add", 1, loaded.file), loaded.settings, tracing);
            assertThat(model.checking(loaded.session)).isTrue();
            model.stopChecks(); // the server stops while the loader thread is in the check
            assertThatThrownBy(() -> RowIndependence.holds("add", loaded.session, loaded.settings, task -> {}))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("the server stopped while the model loaded");
            model.checked();
        }
    }

    @Test
    void aModelClosedBeforeItsCheckRefusesTheCheckAndACloseStopsOneUnderWay() throws Exception {
        try (Loaded loaded = load("add", TinyModels.add())) {
            ServedModel closed = new ServedModel(new ModelSource("add", 1, loaded.file), loaded.settings, tracing);
            closed.close();
            assertThat(closed.checking(loaded.session)).isFalse();
            assertThat(loaded.session.stopped()).isFalse();

            ServedModel checking = new ServedModel(new ModelSource("add", 1, loaded.file), loaded.settings, tracing);
            assertThat(checking.checking(loaded.session)).isTrue();
            checking.close(); // the model holds no session yet: the close stops the check's runs and frees nothing
            assertThat(loaded.session.stopped()).isTrue();
        }
    }

    /** A FLOAT [1, 4] row of {@code add}'s input {@code name}. */
    private static Tensor row(String name) {
        java.nio.ByteBuffer data = java.nio.ByteBuffer.allocate(16).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        data.putFloat(1).putFloat(2).putFloat(3).putFloat(4).flip();
        return new Tensor(name, Datatype.FP32, new long[] {1, 4}, data);
    }

    private record Loaded(Path file, ModelSettings settings, OnnxSession session) implements AutoCloseable {
        @Override
        public void close() {
            session.close();
        }
    }

    private Loaded load(String name, byte[] model) {
        Path file = TinyModels.write(TinyModels.newRepository("sluice-rows"), name, 1, model);
        ModelSettings settings = ModelSettings.resolve(config, name);
        return new Loaded(file, settings, sessions.load(name, file, settings));
    }

    private boolean holds(String name, byte[] model) throws Exception {
        Path file = TinyModels.write(TinyModels.newRepository("sluice-rows"), name, 1, model);
        ModelSettings settings = ModelSettings.resolve(config, name);
        try (OnnxSession session = sessions.load(name, file, settings)) {
            return RowIndependence.holds(name, session, settings);
        }
    }
}
