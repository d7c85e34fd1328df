package io.sluice.api.rest;

import io.sluice.observability.VersionStatistics;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@link VersionStatistics} as Triton's {@code GET /v2/models[/{m}[/versions/{v}]]/stats} writes them. */
final class ModelStatsJson {

    private ModelStatsJson() {}

    static Map<String, Object> of(List<VersionStatistics.Snapshot> snapshots) {
        return Map.of("model_stats", snapshots.stream().map(ModelStatsJson::model).toList());
    }

    private static Map<String, Object> model(VersionStatistics.Snapshot s) {
        Map<String, Object> computed = duration(new VersionStatistics.Duration(s.computeInfer().count(), 0));
        Map<String, Object> inference = new LinkedHashMap<>();
        inference.put("success", duration(s.success()));
        inference.put("fail", duration(s.fail()));
        inference.put("queue", duration(s.queue()));
        inference.put("compute_input", computed);
        inference.put("compute_infer", duration(s.computeInfer()));
        inference.put("compute_output", computed);
        inference.put("cache_hit", duration(s.cacheHit()));
        inference.put("cache_miss", duration(s.cacheMiss()));
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("name", s.name());
        json.put("version", s.version());
        json.put("last_inference", s.lastInferenceMillis());
        json.put("inference_count", s.inferenceCount());
        json.put("execution_count", s.executionCount());
        json.put("inference_stats", inference);
        json.put("batch_stats", s.batches().stream().map(ModelStatsJson::batch).toList());
        json.put("memory_usage", List.of());
        return json;
    }

    private static Map<String, Object> batch(VersionStatistics.Batch b) {
        Map<String, Object> runs = duration(new VersionStatistics.Duration(b.computeInfer().count(), 0));
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("batch_size", b.size());
        json.put("compute_input", runs);
        json.put("compute_infer", duration(b.computeInfer()));
        json.put("compute_output", runs);
        return json;
    }

    private static Map<String, Object> duration(VersionStatistics.Duration d) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("count", d.count());
        json.put("ns", d.nanos());
        return json;
    }
}
