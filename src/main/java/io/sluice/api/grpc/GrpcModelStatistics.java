package io.sluice.api.grpc;

import io.sluice.api.grpc.proto.InferBatchStatistics;
import io.sluice.api.grpc.proto.InferStatistics;
import io.sluice.api.grpc.proto.ModelStatistics;
import io.sluice.api.grpc.proto.ModelStatisticsResponse;
import io.sluice.api.grpc.proto.StatisticDuration;
import io.sluice.observability.VersionStatistics;
import java.util.List;

/**
 * {@link VersionStatistics} as Triton's {@code ModelStatisticsResponse}: the same content as the REST {@code /stats}
 * answer.
 */
final class GrpcModelStatistics {

    private GrpcModelStatistics() {}

    static ModelStatisticsResponse of(List<VersionStatistics.Snapshot> snapshots) {
        ModelStatisticsResponse.Builder response = ModelStatisticsResponse.newBuilder();
        for (VersionStatistics.Snapshot s : snapshots) {
            StatisticDuration computed = StatisticDuration.newBuilder().setCount(s.computeInfer().count()).build();
            ModelStatistics.Builder model = ModelStatistics.newBuilder()
                    .setName(s.name())
                    .setVersion(s.version())
                    .setLastInference(s.lastInferenceMillis())
                    .setInferenceCount(s.inferenceCount())
                    .setExecutionCount(s.executionCount())
                    .setInferenceStats(InferStatistics.newBuilder()
                            .setSuccess(duration(s.success()))
                            .setFail(duration(s.fail()))
                            .setQueue(duration(s.queue()))
                            .setComputeInput(computed)
                            .setComputeInfer(duration(s.computeInfer()))
                            .setComputeOutput(computed)
                            .setCacheHit(duration(s.cacheHit()))
                            .setCacheMiss(duration(s.cacheMiss())));
            for (VersionStatistics.Batch b : s.batches()) {
                StatisticDuration runs = StatisticDuration.newBuilder().setCount(b.computeInfer().count()).build();
                model.addBatchStats(InferBatchStatistics.newBuilder().setBatchSize(b.size())
                        .setComputeInput(runs).setComputeInfer(duration(b.computeInfer())).setComputeOutput(runs));
            }
            response.addModelStats(model);
        }
        return response.build();
    }

    private static StatisticDuration duration(VersionStatistics.Duration d) {
        return StatisticDuration.newBuilder().setCount(d.count()).setNs(d.nanos()).build();
    }
}
