/**
 * The Open Inference Protocol gRPC adapter ({@code inference.GRPCInferenceService}, generated from
 * {@code src/main/proto/open_inference_grpc.proto}) and {@link io.sluice.api.grpc.GrpcErrors}, the
 * one gRPC error mapper. {@code ModelInfer} and {@code ModelStreamInfer} are served on Sluice's own routes ({@link
 * io.sluice.api.grpc.ModelInferRoute} and {@link io.sluice.api.grpc.ModelStreamRoute}, with {@link
 * io.sluice.api.grpc.GrpcWire} for the framing and trailers), every other method through Quarkus's gRPC extension by {@link io.sluice.api.grpc.GrpcInferenceService},
 * Triton's {@code ModelConfig}, {@code ModelStatistics} and {@code RepositoryIndex} among them (the first two
 * written by {@link io.sluice.api.grpc.GrpcModelConfig} and {@link io.sluice.api.grpc.GrpcModelStatistics}, from
 * {@code model_config.proto}, {@code model_statistics.proto} and {@code model_repository.proto}); Triton's
 * streaming {@code ModelStreamInfer} is served by {@link io.sluice.api.grpc.StreamInfer} on either side, answering in
 * request order through {@link io.sluice.api.grpc.StreamAnswers}, and read at most {@link
 * io.sluice.api.grpc.StreamWindow} ahead of its answers. Tensors are translated both ways by {@link
 * io.sluice.api.grpc.GrpcTensors}; {@link io.sluice.api.grpc.GrpcServingStatus} keeps the standard {@code
 * grpc.health.v1} status, which Kubernetes' gRPC probes read, in step with readiness; {@link
 * io.sluice.api.grpc.GrpcWireWarmup} takes part in the request-path warmup. Interceptors on that side carry each call's key ({@link
 * io.sluice.api.grpc.GrpcAuthentication}), cancellation ({@link io.sluice.api.grpc.CallCancellation}, also when
 * the call's connection is lost: {@link io.sluice.api.grpc.ConnectionLoss}),
 * deadline ({@link io.sluice.api.grpc.CallDeadline}) and a stream's {@code triton_grpc_error} header
 * ({@link io.sluice.api.grpc.StreamErrorMode}) to the service, and bound how far a stream is read ahead of
 * its answers ({@link io.sluice.api.grpc.StreamFlowControl}) when the routes are off ({@code
 * sluice.grpc.direct-infer=false}); the bridge reads inference requests through
 * {@link io.sluice.api.grpc.InferRequestMarshaller}, which sizes them from the wire first as the route does
 * ({@link io.sluice.api.grpc.ParsedRequestSize}), and a call in an encoding it cannot read is refused before it
 * ({@link io.sluice.api.grpc.GrpcEncodings}); {@link io.sluice.api.grpc.OpenStreams} ends open
 * streams when the server starts shutting down. It only translates; batching, limits
 * and ONNX types never appear here.
 */
package io.sluice.api.grpc;
