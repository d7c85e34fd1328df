package io.sluice.api.rest;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.config.VersionPolicy;
import io.sluice.inference.Datatype;
import io.sluice.inference.ModelConfiguration;
import io.sluice.inference.TensorSpec;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The Triton model configuration text of the cases the tiny test models do not reach. */
class ModelConfigJsonTest {

    private static final TensorSpec IMAGE = new TensorSpec("image", Datatype.UINT8, new long[] {3, 224, 224});
    private static final TensorSpec LOGITS = new TensorSpec("logits", Datatype.FP16, new long[] {1000});

    @Test
    void aModelTheServerDoesNotBatchKeepsEveryDimension() {
        Map<String, Object> json = ModelConfigJson.of(new ModelConfiguration("resnet", "3", 0, List.of(IMAGE),
                List.of(LOGITS), Optional.empty(), 1, Optional.empty(), false, VersionPolicy.ALL));
        assertThat(json).containsEntry("max_batch_size", 0).doesNotContainKey("dynamic_batching")
                .containsEntry("version_policy", Map.of("all", Map.of()));
        assertThat(field(json, "input", "dims")).isEqualTo(new long[] {3, 224, 224});
        assertThat(field(json, "input", "data_type")).isEqualTo("TYPE_UINT8");
        assertThat(field(json, "output", "data_type")).isEqualTo("TYPE_FP16");
        assertThat(field(json, "instance_group", "kind")).isEqualTo("KIND_CPU");
        assertThat(field(json, "instance_group", "gpus")).isEqualTo(List.of());
    }

    @Test
    void aGpuModelWithPriorityLevelsSaysSo() {
        TensorSpec tokens = new TensorSpec("tokens", Datatype.INT64, new long[] {-1, -1});
        Map<String, Object> json = ModelConfigJson.of(new ModelConfiguration("bert", "1", 16, List.of(tokens),
                List.of(tokens), Optional.of(new ModelConfiguration.Batching(List.of(4, 8), 500, 3, 64)), 2,
                Optional.of(1), true, VersionPolicy.parse("latest:2")));
        assertThat(field(json, "input", "dims")).isEqualTo(new long[] {-1});
        assertThat(field(json, "instance_group", "kind")).isEqualTo("KIND_GPU");
        assertThat(json).containsEntry("version_policy", Map.of("latest", Map.of("num_versions", 2)));
        assertThat(field(json, "instance_group", "gpus")).isEqualTo(List.of(1));
        @SuppressWarnings("unchecked")
        Map<String, Object> batching = (Map<String, Object>) json.get("dynamic_batching");
        assertThat(batching).containsEntry("preferred_batch_size", List.of(4, 8))
                .containsEntry("max_queue_delay_microseconds", 500L)
                .containsEntry("priority_levels", 3)
                .containsEntry("default_priority_level", 3);
    }

    /** {@code key} of the first element of the list {@code list}. */
    @SuppressWarnings("unchecked")
    private static Object field(Map<String, Object> json, String list, String key) {
        return ((List<Map<String, Object>>) json.get(list)).get(0).get(key);
    }
}
