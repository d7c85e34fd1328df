package io.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.fixtures.SluiceConfigs;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Settings resolution through the real config mapping: a model's value, else model-defaults, else the constant. */
class ModelSettingsTest {

    private static SluiceConfig config(Map<String, String> properties) {
        return SluiceConfigs.of(properties);
    }

    @Test
    void warmupCoversOneThePreferredSizesAndTheLargestBatchUnlessConfigured() {
        SluiceConfig config = config(Map.of(
                "sluice.model-defaults.batching.max-batch-size", "8",
                "sluice.models.preferring.batching.preferred-batch-sizes", "4,2,16",
                "sluice.models.single.batching.max-batch-size", "1",
                "sluice.models.chosen.warmup.batch-sizes", "2"));
        assertThat(ModelSettings.resolve(config, "plain").warmupBatchSizes()).containsExactly(1, 8);
        // sorted, and a preferred size above the largest batch is never formed, so never warmed
        assertThat(ModelSettings.resolve(config, "preferring").warmupBatchSizes()).containsExactly(1, 2, 4, 8);
        assertThat(ModelSettings.resolve(config, "single").warmupBatchSizes()).containsExactly(1);
        assertThat(ModelSettings.resolve(config, "chosen").warmupBatchSizes()).containsExactly(2);
    }

    @Test
    void everyVersionIsServedUnlessAPolicySaysOtherwise() {
        SluiceConfig config = config(Map.of(
                "sluice.models.newest.version-policy", "latest:2",
                "sluice.models.broken.version-policy", "latest:zero"));
        assertThat(ModelSettings.resolve(config, "plain").versionPolicy()).isEqualTo(VersionPolicy.ALL);
        assertThat(ModelSettings.resolve(config, "newest").versionPolicy()).hasToString("latest:2");
        assertThatThrownBy(() -> ModelSettings.resolve(config, "broken")).hasMessageContaining("'latest:zero'");
    }

    @Test
    void aWarmupBatchAboveTheLargestBatchIsAConfigurationError() {
        assertThatThrownBy(() -> ModelSettings.resolve(config(Map.of(
                "sluice.models.m.batching.max-batch-size", "4",
                "sluice.models.m.warmup.batch-sizes", "1,16")), "m"))
                .hasMessageContaining("warmup.batch-sizes: 16 is above batching.max-batch-size 4");
    }

    @Test
    void aQueueDelayPastAnHourIsAConfigurationError() {
        // Long.MAX_VALUE meant as "until the batch is full" would overflow the scheduler's clock arithmetic
        assertThatThrownBy(() -> ModelSettings.resolve(config(Map.of(
                "sluice.models.m.batching.max-queue-delay-micros", Long.toString(Long.MAX_VALUE))), "m"))
                .hasMessageContaining("batching.max-queue-delay-micros must be from 0 to 3600000000 (an hour), got "
                        + Long.MAX_VALUE);
        assertThat(ModelSettings.resolve(config(Map.of(
                "sluice.models.m.batching.max-queue-delay-micros", "3600000000")), "m").maxQueueDelayMicros())
                .isEqualTo(3_600_000_000L);
    }

    @Test
    void theAdaptiveLimitIsOffUnlessAskedAndStartsAtTheModelsInstances() {
        ModelSettings.Adaptive off = ModelSettings.resolve(config(Map.of(
                "sluice.models.m.batching.instances", "3")), "m").admission().adaptive();
        assertThat(off.enabled()).isFalse();
        assertThat(off.minLimit()).isEqualTo(3);
        assertThat(off.tolerance()).isEqualTo(ModelSettings.Adaptive.DEFAULT_TOLERANCE);
        assertThat(off.window()).isEqualTo(ModelSettings.Adaptive.DEFAULT_WINDOW);
    }

    @Test
    void aModelsAdaptiveSettingsOverrideTheDefaultsKeyByKey() {
        SluiceConfig config = config(Map.of(
                "sluice.model-defaults.admission.adaptive.enabled", "true",
                "sluice.model-defaults.admission.adaptive.tolerance", "1.5",
                "sluice.models.m.admission.adaptive.min-limit", "4",
                "sluice.models.m.admission.adaptive.window", "25",
                "sluice.models.other.admission.adaptive.enabled", "false"));
        ModelSettings.Adaptive m = ModelSettings.resolve(config, "m").admission().adaptive();
        assertThat(m).isEqualTo(new ModelSettings.Adaptive(true, 4, 1.5, 25));
        assertThat(ModelSettings.resolve(config, "other").admission().adaptive().enabled()).isFalse();
        // a model with no entry of its own takes model-defaults
        assertThat(ModelSettings.resolve(config, "unlisted").admission().adaptive().enabled()).isTrue();
    }

    @Test
    void sheddingIsOnWithAQueueOfOneAndBatchesOfOneOnCpuAndFullBatchesOnAGpu() {
        SluiceConfig config = config(Map.of(
                "sluice.model-defaults.batching.instances", "2",
                "sluice.model-defaults.batching.max-batch-size", "8",
                "sluice.models.gpu.execution.provider", "cuda",
                "sluice.models.trt.execution.provider", "tensorrt",
                "sluice.models.three.batching.instances", "3",
                "sluice.models.tuned.admission.shedding.queue-size", "6",
                "sluice.models.tuned.admission.shedding.max-batch-size", "4",
                "sluice.models.over.admission.shedding.max-batch-size", "32",
                "sluice.models.off.admission.shedding.enabled", "false"));
        assertThat(ModelSettings.resolve(config, "cpu").admission().shedding())
                .isEqualTo(new ModelSettings.Shedding(true, 1, 1));
        assertThat(ModelSettings.resolve(config, "gpu").admission().shedding())
                .isEqualTo(new ModelSettings.Shedding(true, 16, 8));
        assertThat(ModelSettings.resolve(config, "trt").admission().shedding().queueSize()).isEqualTo(16);
        // a GPU model that fell back to the CPU sheds as the CPU it runs on; its own settings stay its own
        assertThat(ModelSettings.resolve(config, "gpu", ExecutionProvider.CPU).admission().shedding())
                .isEqualTo(new ModelSettings.Shedding(true, 1, 1));
        assertThat(ModelSettings.resolve(config, "gpu", ExecutionProvider.CPU).provider()).isEqualTo(ExecutionProvider.CUDA);
        assertThat(ModelSettings.resolve(config, "tuned", ExecutionProvider.CPU).admission().shedding())
                .isEqualTo(new ModelSettings.Shedding(true, 6, 4));
        assertThat(ModelSettings.resolve(config, "three").admission().shedding())
                .isEqualTo(new ModelSettings.Shedding(true, 1, 1));
        assertThat(ModelSettings.resolve(config, "tuned").admission().shedding())
                .isEqualTo(new ModelSettings.Shedding(true, 6, 4));
        // never above the model's own max batch size
        assertThat(ModelSettings.resolve(config, "over").admission().shedding().maxBatchSize()).isEqualTo(8);
        assertThat(ModelSettings.resolve(config, "off").admission().shedding().enabled()).isFalse();
        assertThatThrownBy(() -> ModelSettings.resolve(config(Map.of(
                "sluice.models.m.admission.shedding.queue-size", "0")), "m"))
                .hasMessageContaining("admission.shedding.queue-size must be >= 1");
        assertThatThrownBy(() -> ModelSettings.resolve(config(Map.of(
                "sluice.models.m.admission.shedding.max-batch-size", "0")), "m"))
                .hasMessageContaining("admission.shedding.max-batch-size must be >= 1");
    }

    @Test
    void aBulkheadPastTheLargestIntIsRefusedByNameAndLargeDefaultsAddUp() {
        assertThatThrownBy(() -> ModelSettings.resolve(config(Map.of(
                "sluice.models.m.batching.queue-size", String.valueOf(Integer.MAX_VALUE))), "m"))
                .hasMessageContaining("admission.max-concurrent + batching.queue-size must be at most 2147483646")
                .hasMessageContaining(" + 2147483647");
        // one short of the largest int: SmallRye adds its queue slot to the bulkhead's capacity
        assertThatThrownBy(() -> ModelSettings.resolve(config(Map.of("sluice.models.m.admission.max-concurrent", "1",
                "sluice.models.m.batching.queue-size", String.valueOf(Integer.MAX_VALUE - 1))), "m"))
                .hasMessageContaining("must be at most 2147483646 (the bulkhead's capacity), was 1 + 2147483646");
        // instances × max batch size past an int: the defaults stay positive, and their sum an int
        ModelSettings large = ModelSettings.resolve(config(Map.of("sluice.models.m.batching.instances", "65536",
                "sluice.models.m.batching.max-batch-size", "65536")), "m");
        assertThat(large.queueSize()).isEqualTo(Integer.MAX_VALUE / 2);
        assertThat(large.admission().maxConcurrent()).isEqualTo(Integer.MAX_VALUE / 2);
        assertThat(large.capacity()).isPositive();
    }

    @Test
    void adaptiveSettingsThatCannotWorkAreRefusedByName() {
        assertThatThrownBy(() -> ModelSettings.resolve(config(Map.of(
                "sluice.models.m.admission.adaptive.tolerance", "1.0")), "m"))
                .hasMessageContaining("admission.adaptive.tolerance must be > 1");
        assertThatThrownBy(() -> ModelSettings.resolve(config(Map.of(
                "sluice.models.m.admission.adaptive.window", "0")), "m"))
                .hasMessageContaining("admission.adaptive.window must be >= 1");
    }

    @Test
    void modelThreadsRunAtNiceTenUnlessAModelSaysOtherwise() {
        SluiceConfig config = config(Map.of(
                "sluice.models.foreground.threads.nice", "0",
                "sluice.models.background.threads.nice", "19"));
        assertThat(ModelSettings.resolve(config, "m").threadNice()).isEqualTo(10);
        assertThat(ModelSettings.resolve(config, "foreground").threadNice()).isZero();
        assertThat(ModelSettings.resolve(config, "background").threadNice()).isEqualTo(19);
        assertThatThrownBy(() -> ModelSettings.resolve(config(Map.of(
                "sluice.models.m.threads.nice", "20")), "m"))
                .hasMessageContaining("threads.nice must be between 0 and 19, got 20");
        assertThatThrownBy(() -> ModelSettings.resolve(config(Map.of(
                "sluice.model-defaults.threads.nice", "-5")), "m"))
                .hasMessageContaining("threads.nice must be between 0 and 19, got -5");
    }

    @Test
    void anEventLoopRunsRunsOfUpTo50MicrosecondsUnlessAModelSaysOtherwise() {
        SluiceConfig config = config(Map.of(
                "sluice.models.never.threads.event-loop-run-max-micros", "0",
                "sluice.models.longer.threads.event-loop-run-max-micros", "1000"));
        assertThat(ModelSettings.resolve(config, "m").eventLoopRunMaxMicros()).isEqualTo(50);
        assertThat(ModelSettings.resolve(config, "never").eventLoopRunMaxMicros()).isZero();
        assertThat(ModelSettings.resolve(config, "longer").eventLoopRunMaxMicros()).isEqualTo(1000);
        assertThatThrownBy(() -> ModelSettings.resolve(config(Map.of(
                "sluice.models.m.threads.event-loop-run-max-micros", "1001")), "m"))
                .hasMessageContaining("threads.event-loop-run-max-micros must be from 0 to 1000, got 1001");
        assertThatThrownBy(() -> ModelSettings.resolve(config(Map.of(
                "sluice.model-defaults.threads.event-loop-run-max-micros", "-1")), "m"))
                .hasMessageContaining("threads.event-loop-run-max-micros must be from 0 to 1000, got -1");
    }

    @Test
    void settingsThatCouldNeverWorkStopTheStartNamingTheKey() {
        assertThatThrownBy(() -> ModelSettings.resolve(config(Map.of(
                "sluice.models.m.admission.circuit-breaker.delay", "-1s")), "m"))
                .hasMessageContaining("admission.circuit-breaker.delay must be at least 0, was PT-1S");
        assertThatThrownBy(() -> ModelSettings.resolve(config(Map.of(
                "sluice.models.m.execution.provider", "cuda",
                "sluice.models.m.execution.device-id", "-1")), "m"))
                .hasMessageContaining("execution.device-id must be at least 0, was -1");
        // a CPU model never reads it: a leftover value does not stop it
        assertThat(ModelSettings.resolve(config(Map.of("sluice.models.m.execution.device-id", "-1")), "m").deviceId())
                .isEqualTo(-1);
        assertThatThrownBy(() -> ModelSettings.resolve(config(Map.of(
                "sluice.models.m.execution.gpu-memory-limit", "0")), "m"))
                .hasMessageContaining("execution.gpu-memory-limit must be at least 1 byte, was 0");
        assertThatThrownBy(() -> ModelSettings.resolve(config(Map.of(
                "sluice.models.m.batching.priority-levels", "2000000000")), "m"))
                .hasMessageContaining("batching.priority-levels must be at most 1000, was 2000000000");
        // SmallRye's timeout takes whole milliseconds and refuses 0: half a millisecond would fail every request
        assertThatThrownBy(() -> ModelSettings.resolve(config(Map.of(
                "sluice.models.m.admission.timeout", "0.0005s")), "m"))
                .hasMessageContaining("admission.timeout must be at least 1 ms, was PT0.0005S");
        // the edges are allowed
        ModelSettings edges = ModelSettings.resolve(config(Map.of(
                "sluice.models.m.admission.circuit-breaker.delay", "0s",
                "sluice.models.m.execution.gpu-memory-limit", "1",
                "sluice.models.m.batching.priority-levels", "1000",
                "sluice.models.m.admission.timeout", "1ms")), "m");
        assertThat(edges.priorityLevels()).isEqualTo(1000);
    }
}
