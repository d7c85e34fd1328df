package io.sluice;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.util.Map;

/**
 * Every test of {@link GrpcProtocolTest} again with {@code sluice.grpc.direct-infer=false}: ModelInfer then
 * goes through the Quarkus gRPC service ({@code GrpcInferenceService}, {@code GrpcAuthentication},
 * {@code CallCancellation}), the path calls with a grpc-encoding other than gzip take, and must answer the same.
 */
@QuarkusTest
@TestProfile(GrpcBridgeProtocolTest.Profile.class)
class GrpcBridgeProtocolTest extends GrpcProtocolTest {

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("sluice.grpc.direct-infer", "false");
        }
    }
}
