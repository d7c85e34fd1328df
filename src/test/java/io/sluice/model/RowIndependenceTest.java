package io.sluice.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.sluice.TinyRepositoryResource;
import io.sluice.config.ModelSettings;
import io.sluice.config.SluiceConfig;
import io.sluice.fixtures.TinyModels;
import io.sluice.runtime.OnnxSession;
import io.sluice.runtime.SessionLoader;
import jakarta.inject.Inject;
import java.nio.file.Path;
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

    private boolean holds(String name, byte[] model) throws Exception {
        Path file = TinyModels.write(TinyModels.newRepository("sluice-rows"), name, 1, model);
        ModelSettings settings = ModelSettings.resolve(config, name);
        try (OnnxSession session = sessions.load(name, file, settings)) {
            return RowIndependence.holds(name, session, settings);
        }
    }
}
