package io.sluice.api.rest;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Which paths the REST filter leaves to the gRPC authentication. */
class RestAuthenticationTest {

    @Test
    void onlyAGrpcMethodsPathIsLeftToTheGrpcAuthentication() {
        assertThat(RestAuthentication.grpcMethod("/inference.GRPCInferenceService/ModelInfer")).isTrue();
        assertThat(RestAuthentication.grpcMethod("/grpc.health.v1.Health/Check")).isTrue();
        assertThat(RestAuthentication.grpcMethod("/v2")).isFalse();
        assertThat(RestAuthentication.grpcMethod("/v2/models/m")).isFalse();
        assertThat(RestAuthentication.grpcMethod("/v2/models/m.onnx/infer")).isFalse();
        assertThat(RestAuthentication.grpcMethod("/q/metrics")).isFalse();
        assertThat(RestAuthentication.grpcMethod("/inference.GRPCInferenceService/")).isFalse();
        assertThat(RestAuthentication.grpcMethod("/a.B/c/d")).isFalse();
        assertThat(RestAuthentication.grpcMethod("/.B/c")).isFalse();
    }
}
