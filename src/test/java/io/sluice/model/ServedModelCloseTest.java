package io.sluice.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.sluice.TinyRepositoryResource;
import io.sluice.config.ModelSettings;
import io.sluice.config.SluiceConfig;
import io.sluice.inference.InferRequest;
import io.sluice.inference.InferenceException;
import io.sluice.observability.Tracing;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A model closed while it was still loading (the server stopping) takes nothing its load made afterwards. */
@QuarkusTest
@QuarkusTestResource(TinyRepositoryResource.class)
class ServedModelCloseTest {

    @Inject
    SluiceConfig config;

    @Inject
    Tracing tracing;

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
}
