package io.sluice.api.rest;

import io.sluice.config.VersionPolicy;
import io.sluice.inference.ModelConfiguration;
import io.sluice.inference.TensorSpec;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link ModelConfiguration} as Triton's {@code GET /v2/models/{m}/config} writes a model configuration:
 * the protobuf's field names, enum names as text, and every field Sluice knows with Triton's default where
 * Sluice has nothing else to say, so that tritonclient's {@code get_model_config()} and code reading
 * {@code max_batch_size}, {@code input[i].dims} or {@code data_type} work unchanged.
 */
final class ModelConfigJson {

    private ModelConfigJson() {}

    static Map<String, Object> of(ModelConfiguration c) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("name", c.name());
        json.put("platform", ModelConfiguration.PLATFORM);
        json.put("backend", ModelConfiguration.BACKEND);
        json.put("version_policy", versionPolicy(c.versionPolicy()));
        json.put("max_batch_size", c.maxBatchSize());
        json.put("input", c.inputs().stream().map(t -> input(c, t)).toList());
        json.put("output", c.outputs().stream().map(t -> output(c, t)).toList());
        c.batching().ifPresent(b -> json.put("dynamic_batching", batching(b)));
        Map<String, Object> group = new LinkedHashMap<>();
        group.put("name", c.name());
        group.put("kind", c.gpuDevice().isPresent() ? "KIND_GPU" : "KIND_CPU");
        group.put("count", c.instances());
        group.put("gpus", c.gpuDevice().map(List::of).orElse(List.of()));
        json.put("instance_group", List.of(group));
        json.put("default_model_filename", ModelConfiguration.MODEL_FILE);
        json.put("response_cache", Map.of("enable", c.responseCache()));
        return json;
    }

    /**
     * As Triton writes it: {@code {"all":{}}}, {@code {"latest":{"num_versions":2}}}, {@code
     * {"specific":{"versions":[1,3]}}}.
     */
    private static Map<String, Object> versionPolicy(VersionPolicy p) {
        return switch (p.kind()) {
            case ALL -> Map.of("all", Map.of());
            case LATEST -> Map.of("latest", Map.of("num_versions", p.count()));
            case SPECIFIC -> Map.of("specific", Map.of("versions", p.versions().stream().sorted().toList()));
        };
    }

    private static Map<String, Object> input(ModelConfiguration c, TensorSpec t) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("name", t.name());
        json.put("data_type", t.datatype().configName());
        json.put("format", "FORMAT_NONE");
        json.put("dims", c.dims(t));
        json.put("is_shape_tensor", false);
        json.put("allow_ragged_batch", false);
        json.put("optional", false);
        return json;
    }

    private static Map<String, Object> output(ModelConfiguration c, TensorSpec t) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("name", t.name());
        json.put("data_type", t.datatype().configName());
        json.put("dims", c.dims(t));
        json.put("label_filename", "");
        json.put("is_shape_tensor", false);
        return json;
    }

    private static Map<String, Object> batching(ModelConfiguration.Batching b) {
        Map<String, Object> queue = new LinkedHashMap<>();
        queue.put("timeout_action", "REJECT");
        queue.put("default_timeout_microseconds", 0);
        queue.put("allow_timeout_override", true);
        queue.put("max_queue_size", b.queueSize());
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("preferred_batch_size", b.preferredSizes());
        json.put("max_queue_delay_microseconds", b.maxQueueDelayMicros());
        json.put("preserve_ordering", false);
        json.put("priority_levels", b.reportedLevels());
        json.put("default_priority_level", b.reportedLevels());
        json.put("default_queue_policy", queue);
        return json;
    }
}
