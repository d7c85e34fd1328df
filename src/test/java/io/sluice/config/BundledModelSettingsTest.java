package io.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.runtime.configuration.DurationConverter;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The shipped {@code application.properties}: the bundled MiniLM models run short batches, and every
 * model's bulkhead holds the {@code containerConcurrency} that the Knative manifest derives from it.
 */
class BundledModelSettingsTest {

    private static final String[] BUNDLED = {"all-minilm-l6-v2", "all-minilm-l6-v2-int8"};

    private static SmallRyeConfig shipped() throws IOException {
        // the main file itself: the test classpath has an application.properties of its own first
        Path file = Path.of("src/main/resources/application.properties");
        assertThat(file).as("run from the project directory").isRegularFile();
        return new SmallRyeConfigBuilder()
                .withMapping(SluiceConfig.class)
                .withConverter(Duration.class, 200, new DurationConverter())
                .withSources(new PropertiesConfigSource(file.toUri().toURL(), 250))
                .build();
    }

    @Test
    void theBundledModelsRunBatchesOfAtMostFourAndWarmBoth() throws IOException {
        SluiceConfig config = shipped().getConfigMapping(SluiceConfig.class);
        for (String model : BUNDLED) {
            assertThat(ModelSettings.resolve(config, model).maxBatchSize()).as(model).isEqualTo(4);
            // and are warmed at both sizes they run before they say READY
            assertThat(ModelSettings.resolve(config, model).warmupBatchSizes()).as(model).containsExactly(1, 4);
        }
        assertThat(ModelSettings.resolve(config, "any-other-model").maxBatchSize())
                .isEqualTo(ModelSettings.DEFAULT_MAX_BATCH_SIZE);
    }

    @Test
    void everyModelsBulkheadHoldsTheKnativeContainerConcurrency() throws IOException {
        SmallRyeConfig shipped = shipped();
        int containerConcurrency = shipped.getValue(
                "quarkus.knative.revision-auto-scaling.container-concurrency", Integer.class);
        SluiceConfig config = shipped.getConfigMapping(SluiceConfig.class);
        for (String model : new String[] {BUNDLED[0], BUNDLED[1], "any-other-model"}) {
            ModelSettings s = ModelSettings.resolve(config, model);
            // executing + waiting: the guard's capacity (README, "Knative")
            assertThat(s.admission().maxConcurrent() + s.queueSize()).as(model).isEqualTo(containerConcurrency);
        }
    }
}
