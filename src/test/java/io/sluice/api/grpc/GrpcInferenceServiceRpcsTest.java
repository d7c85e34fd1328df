package io.sluice.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.sluice.api.grpc.proto.MutinyGRPCInferenceServiceGrpc;
import java.lang.reflect.Method;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * {@link GrpcInferenceService} extends the generated base, whose methods answer UNIMPLEMENTED, rather than implementing
 * the generated interface, so the compiler no longer says when an RPC is missing: this does.
 */
class GrpcInferenceServiceRpcsTest {

    @Test
    void everyRpcOfTheProtoIsImplemented() {
        Method[] rpcs = Arrays.stream(MutinyGRPCInferenceServiceGrpc.GRPCInferenceServiceImplBase.class.getDeclaredMethods())
                .filter(m -> m.getReturnType() == Uni.class || m.getReturnType() == Multi.class)
                .toArray(Method[]::new);

        assertThat(rpcs).hasSizeGreaterThanOrEqualTo(12); // the rpcs of open_inference_grpc.proto
        for (Method rpc : rpcs) {
            assertThat(Arrays.stream(GrpcInferenceService.class.getDeclaredMethods())
                    .anyMatch(m -> m.getName().equals(rpc.getName()) && Arrays.equals(m.getParameterTypes(), rpc.getParameterTypes())))
                    .as("GrpcInferenceService implements %s", rpc.getName()).isTrue();
        }
    }
}
