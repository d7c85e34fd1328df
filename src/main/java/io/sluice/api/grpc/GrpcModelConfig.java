package io.sluice.api.grpc;

import io.sluice.api.grpc.proto.DataType;
import io.sluice.api.grpc.proto.ModelConfig;
import io.sluice.api.grpc.proto.ModelDynamicBatching;
import io.sluice.api.grpc.proto.ModelInput;
import io.sluice.api.grpc.proto.ModelInstanceGroup;
import io.sluice.api.grpc.proto.ModelOutput;
import io.sluice.api.grpc.proto.ModelQueuePolicy;
import io.sluice.api.grpc.proto.ModelResponseCache;
import io.sluice.api.grpc.proto.ModelVersionPolicy;
import io.sluice.config.VersionPolicy;
import io.sluice.inference.ModelConfiguration;
import io.sluice.inference.TensorSpec;
import java.util.Arrays;

/**
 * A {@link ModelConfiguration} as Triton's {@code ModelConfig} message, the answer of the {@code ModelConfig}
 * RPC: the same content as the REST {@code /config} answer.
 */
final class GrpcModelConfig {

    private GrpcModelConfig() {}

    private static ModelVersionPolicy versionPolicy(VersionPolicy p) {
        ModelVersionPolicy.Builder policy = ModelVersionPolicy.newBuilder();
        return switch (p.kind()) {
            case ALL -> policy.setAll(ModelVersionPolicy.All.getDefaultInstance()).build();
            case LATEST -> policy.setLatest(ModelVersionPolicy.Latest.newBuilder().setNumVersions(p.count())).build();
            case SPECIFIC -> policy.setSpecific(ModelVersionPolicy.Specific.newBuilder()
                    .addAllVersions(p.versions().stream().sorted().toList())).build();
        };
    }

    static ModelConfig of(ModelConfiguration c) {
        ModelConfig.Builder config = ModelConfig.newBuilder()
                .setName(c.name())
                .setPlatform(ModelConfiguration.PLATFORM)
                .setBackend(ModelConfiguration.BACKEND)
                .setVersionPolicy(versionPolicy(c.versionPolicy()))
                .setMaxBatchSize(c.maxBatchSize())
                .setDefaultModelFilename(ModelConfiguration.MODEL_FILE)
                .setResponseCache(ModelResponseCache.newBuilder().setEnable(c.responseCache()));
        for (TensorSpec t : c.inputs()) {
            config.addInput(ModelInput.newBuilder().setName(t.name()).setDataType(type(t))
                    .setFormat(ModelInput.Format.FORMAT_NONE).addAllDims(dims(c, t)));
        }
        for (TensorSpec t : c.outputs()) {
            config.addOutput(ModelOutput.newBuilder().setName(t.name()).setDataType(type(t)).addAllDims(dims(c, t)));
        }
        c.batching().ifPresent(b -> config.setDynamicBatching(ModelDynamicBatching.newBuilder()
                .addAllPreferredBatchSize(b.preferredSizes())
                .setMaxQueueDelayMicroseconds(b.maxQueueDelayMicros())
                .setPriorityLevels(b.reportedLevels())
                .setDefaultPriorityLevel(b.reportedLevels())
                .setDefaultQueuePolicy(ModelQueuePolicy.newBuilder()
                        .setTimeoutAction(ModelQueuePolicy.TimeoutAction.REJECT)
                        .setAllowTimeoutOverride(true) // every request may carry its own timeout
                        .setMaxQueueSize(b.queueSize()))));
        ModelInstanceGroup.Kind kind = c.gpuDevice().isPresent() ? ModelInstanceGroup.Kind.KIND_GPU
                : ModelInstanceGroup.Kind.KIND_CPU;
        ModelInstanceGroup.Builder group = ModelInstanceGroup.newBuilder().setName(c.name()).setCount(c.instances())
                .setKind(kind);
        c.gpuDevice().ifPresent(group::addGpus);
        return config.addInstanceGroup(group).build();
    }

    private static DataType type(TensorSpec t) {
        return DataType.valueOf(t.datatype().configName());
    }

    private static Iterable<Long> dims(ModelConfiguration c, TensorSpec t) {
        return Arrays.stream(c.dims(t)).boxed().toList();
    }
}
