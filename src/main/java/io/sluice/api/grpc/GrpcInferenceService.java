package io.sluice.api.grpc;

import io.grpc.ServerServiceDefinition;
import io.grpc.StatusRuntimeException;
import io.quarkus.grpc.GrpcService;
import io.sluice.admission.Tenant;
import io.sluice.api.grpc.proto.MutinyGRPCInferenceServiceGrpc;
import io.sluice.api.grpc.proto.InferParameter;
import io.sluice.api.grpc.proto.ModelConfigRequest;
import io.sluice.api.grpc.proto.ModelConfigResponse;
import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.api.grpc.proto.ModelInferResponse;
import io.sluice.api.grpc.proto.ModelMetadataRequest;
import io.sluice.api.grpc.proto.ModelMetadataResponse;
import io.sluice.api.grpc.proto.ModelReadyRequest;
import io.sluice.api.grpc.proto.ModelReadyResponse;
import io.sluice.api.grpc.proto.ModelStatisticsRequest;
import io.sluice.api.grpc.proto.ModelStreamInferResponse;
import io.sluice.api.grpc.proto.RepositoryIndexRequest;
import io.sluice.api.grpc.proto.RepositoryIndexResponse;
import io.sluice.api.grpc.proto.RepositoryModelLoadRequest;
import io.sluice.api.grpc.proto.RepositoryModelLoadResponse;
import io.sluice.api.grpc.proto.RepositoryModelUnloadRequest;
import io.sluice.api.grpc.proto.RepositoryModelUnloadResponse;
import io.sluice.api.grpc.proto.ModelStatisticsResponse;
import io.sluice.api.grpc.proto.ServerLiveRequest;
import io.sluice.api.grpc.proto.ServerLiveResponse;
import io.sluice.api.grpc.proto.ServerMetadataRequest;
import io.sluice.api.grpc.proto.ServerMetadataResponse;
import io.sluice.api.grpc.proto.ServerReadyRequest;
import io.sluice.api.grpc.proto.ServerReadyResponse;
import io.sluice.inference.ModelIndexEntry;
import io.sluice.inference.InferenceException;
import io.sluice.inference.InferenceService;
import io.sluice.inference.Protocol;
import io.sluice.inference.ModelMetadata;
import io.sluice.inference.TensorSpec;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import jakarta.inject.Inject;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The Open Inference Protocol gRPC service ({@code inference.GRPCInferenceService}), served on the
 * HTTP port over h2c. It only translates; errors become status codes in {@link GrpcErrors}. The
 * gRPC deadline becomes the request deadline ({@link CallDeadline}: the server's, or on Quarkus's Vert.x
 * bridge, which sets none, the {@code grpc-timeout} header's), and a cancelled call
 * cancels the {@link Uni}, which takes the request out of its queue. {@code ModelInfer} and Triton's {@code
 * ModelStreamInfer} mostly come by {@link ModelInferRoute} and {@link ModelStreamRoute} instead; here the stream is
 * {@link StreamInfer} too. The requests
 * of both are read by {@link InferRequestMarshaller}, which is why this extends the generated base rather than
 * implementing its interface: the binding is this class's to change.
 */
@GrpcService
public class GrpcInferenceService extends MutinyGRPCInferenceServiceGrpc.GRPCInferenceServiceImplBase {

    /** Response parameter saying where a cached model's outputs came from: miss, hit-l1, hit-l2. */
    static final String CACHE_PARAMETER = "sluice_cache";

    @Inject
    InferenceService service;

    @Inject
    OpenStreams openStreams;

    @ConfigProperty(name = "quarkus.grpc.server.max-inbound-message-size", defaultValue = "4194304")
    int maxMessageBytes;

    @Override
    public ServerServiceDefinition bindService() {
        return InferRequestMarshaller.bound(super.bindService(), maxMessageBytes);
    }

    @Override
    public Uni<ServerLiveResponse> serverLive(ServerLiveRequest request) {
        return Uni.createFrom().item(ServerLiveResponse.newBuilder().setLive(service.live()).build());
    }

    @Override
    public Uni<ServerReadyResponse> serverReady(ServerReadyRequest request) {
        return Uni.createFrom().item(ServerReadyResponse.newBuilder().setReady(service.ready()).build());
    }

    @Override
    public Uni<ModelReadyResponse> modelReady(ModelReadyRequest request) {
        // as Triton: a model it does not have is not ready (false), not NOT_FOUND, so is_model_ready("typo") is False
        return Uni.createFrom().item(() -> ModelReadyResponse.newBuilder()
                .setReady(service.modelKnownAndReady(request.getName(), version(request.getVersion()))).build());
    }

    @Override
    public Uni<ServerMetadataResponse> serverMetadata(ServerMetadataRequest request) {
        InferenceService.ServerMetadata m = service.serverMetadata();
        return Uni.createFrom().item(ServerMetadataResponse.newBuilder()
                .setName(m.name()).setVersion(m.version()).addAllExtensions(m.extensions()).build());
    }

    @Override
    public Uni<ModelMetadataResponse> modelMetadata(ModelMetadataRequest request) {
        return Uni.createFrom().item(() -> {
            ModelMetadata m = service.modelMetadata(request.getName(), version(request.getVersion()));
            return ModelMetadataResponse.newBuilder()
                    .setName(m.name())
                    .addAllVersions(m.versions())
                    .setPlatform(m.platform())
                    .addAllInputs(tensors(m.inputs()))
                    .addAllOutputs(tensors(m.outputs()))
                    .putParameters("version", InferParameter.newBuilder().setStringParam(m.version()).build())
                    .putParameters("execution_provider", InferParameter.newBuilder().setStringParam(m.provider()).build())
                    .build();
        });
    }

    @Override
    public Uni<ModelConfigResponse> modelConfig(ModelConfigRequest request) {
        return Uni.createFrom().item(() -> ModelConfigResponse.newBuilder().setConfig(GrpcModelConfig.of(
                service.modelConfiguration(request.getName(), version(request.getVersion())))).build());
    }

    @Override
    public Uni<ModelStatisticsResponse> modelStatistics(ModelStatisticsRequest request) {
        return Uni.createFrom().item(() -> GrpcModelStatistics.of(service.modelStatistics(
                request.getName().isEmpty() ? null : request.getName(), version(request.getVersion()))));
    }

    @Override
    public Uni<RepositoryIndexResponse> repositoryIndex(RepositoryIndexRequest request) {
        return Uni.createFrom().item(() -> {
            RepositoryIndexResponse.Builder index = RepositoryIndexResponse.newBuilder();
            for (ModelIndexEntry e : service.repositoryIndex(request.getReady())) {
                index.addModels(RepositoryIndexResponse.ModelIndex.newBuilder()
                        .setName(e.name()).setVersion(e.version()).setState(e.state()).setReason(e.reason()));
            }
            return index.build();
        });
    }

    @Override
    public Uni<RepositoryModelLoadResponse> repositoryModelLoad(RepositoryModelLoadRequest request) {
        return Uni.createFrom().failure(InferenceService.loadOrUnloadRefused(
                named(request.getModelName(), request.getRepositoryName()), "load"));
    }

    @Override
    public Uni<RepositoryModelUnloadResponse> repositoryModelUnload(RepositoryModelUnloadRequest request) {
        return Uni.createFrom().failure(InferenceService.loadOrUnloadRefused(
                named(request.getModelName(), request.getRepositoryName()), "unload"));
    }

    /**
     * The model a load or unload names: Triton's proto has it in field 2 ({@code model_name}); KServe's has it in
     * field 1, which Triton's reads as {@code repository_name}.
     */
    private static String named(String modelName, String repositoryName) {
        return modelName.isEmpty() ? repositoryName : modelName;
    }

    @Override
    public Uni<ModelInferResponse> modelInfer(ModelInferRequest request) {
        CallCancellation.Hook cancellation = CallCancellation.current();
        Tenant tenant = GrpcAuthentication.tenant();
        return Uni.createFrom().deferred(() -> {
            StatusRuntimeException refusal = InferRequestMarshaller.refusal(request);
            if (refusal != null) {
                service.refusedUnread(tenant, Protocol.GRPC);
                return Uni.createFrom().failure(refusal);
            }
            long deadline = CallDeadline.current();
            return cancelledBy(cancellation, service.infer(tenant, request.getModelName(), GrpcTensors.version(request),
                    Protocol.GRPC, () -> GrpcTensors.request(request, deadline), r -> written(() -> response(r))));
        });
    }

    /** Triton's streaming inference: see {@link StreamInfer}. */
    @Override
    public Multi<ModelStreamInferResponse> modelStreamInfer(Multi<ModelInferRequest> requests) {
        return StreamInfer.serve(service, openStreams, requests);
    }

    /**
     * The answer {@code write} builds, as the step {@link InferenceService#infer} counts the request after: a
     * failure building it is what the client gets, and no memory for it is UNAVAILABLE to retry (reason
     * {@code no_memory}), not a success in the metrics and an INTERNAL on the wire.
     */
    static <T> Uni<T> written(Supplier<T> write) {
        return Uni.createFrom().item(() -> {
            try {
                return write.get();
            } catch (OutOfMemoryError e) {
                throw new InferenceException.Unavailable(InferenceException.Unavailable.Reason.NO_MEMORY,
                        "the server has no memory to write this answer now: retry", Duration.ofSeconds(1));
            }
        });
    }

    /** The wire response; a cached model's carries the {@value #CACHE_PARAMETER} parameter. */
    static ModelInferResponse response(io.sluice.inference.InferResponse r) {
        return GrpcTensors.response(r, parameters(r), true);
    }

    /**
     * {@link #response} without its outputs' raw contents, which {@link GrpcWire#frame(ModelInferResponse,
     * List)} appends.
     */
    static ModelInferResponse responseHead(io.sluice.inference.InferResponse r) {
        return GrpcTensors.response(r, parameters(r), false);
    }

    /** The response parameters Sluice sets: a cached model's {@value #CACHE_PARAMETER}. */
    static Map<String, InferParameter> parameters(io.sluice.inference.InferResponse r) {
        String cache = r.cache().label();
        return cache == null ? Map.of()
                : Map.of(CACHE_PARAMETER, InferParameter.newBuilder().setStringParam(cache).build());
    }

    /** Cancels {@code work} (taking the request out of its queue) when the client cancels the call. */
    private static <T> Uni<T> cancelledBy(CallCancellation.Hook cancellation, Uni<T> work) {
        return Uni.createFrom().emitter(emitter -> {
            var subscription = work.subscribe().with(emitter::complete, emitter::fail);
            cancellation.onCancel(() -> {
                subscription.cancel();
                emitter.fail(io.grpc.Status.CANCELLED.withDescription("cancelled by the client").asRuntimeException());
            });
        });
    }

    private static String version(String version) {
        return version.isEmpty() ? null : version;
    }

    private static List<ModelMetadataResponse.TensorMetadata> tensors(List<TensorSpec> specs) {
        return specs.stream().map(s -> {
            ModelMetadataResponse.TensorMetadata.Builder t = ModelMetadataResponse.TensorMetadata.newBuilder()
                    .setName(s.name()).setDatatype(s.datatype().name());
            for (long d : s.shape()) {
                t.addShape(d);
            }
            return t.build();
        }).toList();
    }
}
