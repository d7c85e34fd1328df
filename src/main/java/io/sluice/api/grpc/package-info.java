/**
 * The Open Inference Protocol gRPC adapter ({@code inference.GRPCInferenceService}, generated from
 * {@code src/main/proto/open_inference_grpc.proto}) and {@link io.sluice.api.grpc.GrpcErrors}, the
 * one gRPC error mapper. It only translates; batching, limits and ONNX types never appear here.
 */
package io.sluice.api.grpc;
