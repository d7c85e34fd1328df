package io.sluice;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import java.util.HashMap;
import java.util.Map;

/**
 * {@link DeadlineAndCancelTest} again with {@code sluice.grpc.direct-infer=false}: ModelInfer goes
 * through Quarkus's grpc-java bridge, which sets no deadline in the gRPC context, so the request's
 * deadline comes from the {@code grpc-timeout} header ({@code CallDeadline}). Without it the call the
 * client gave up on at its deadline would have no deadline on the server, and count as a cancellation.
 */
@QuarkusTest
@TestProfile(DeadlineAndCancelBridgeTest.Profile.class)
class DeadlineAndCancelBridgeTest extends DeadlineAndCancelTest {

    public static class Profile extends DeadlineAndCancelTest.Profile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Map<String, String> config = new HashMap<>(super.getConfigOverrides());
            config.put("sluice.grpc.direct-infer", "false");
            return config;
        }
    }
}
