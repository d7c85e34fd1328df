package io.sluice.admission;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.sluice.GrpcClients;
import io.sluice.api.grpc.proto.GRPCInferenceServiceGrpc;
import io.sluice.api.grpc.proto.ServerLiveRequest;
import io.sluice.fixtures.TinyModels;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** With {@code sluice.auth.management} on, health and metrics need a key too, over REST and gRPC. */
@QuarkusTest
@TestProfile(ManagementAuthTest.Profile.class)
class ManagementAuthTest {

    private static final String KEY = "ops-key";

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Path repo = TinyModels.newRepository("sluice-management-auth");
            TinyModels.write(repo, "matmul", 1, TinyModels.matmul());
            return Map.of(
                    "sluice.repository.paths", repo.toString(),
                    "sluice.auth.enabled", "true",
                    "sluice.auth.management", "true",
                    "sluice.tenants.ops.api-key-sha256", Tenants.sha256(KEY));
        }
    }

    @Test
    void healthAndMetricsNeedAKeyOverRestAndGrpc() {
        await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(50))
                .until(() -> given().header("X-API-Key", KEY).get("/v2/health/ready").statusCode() == 200);
        for (String path : new String[] {"/v2/health/ready", "/v2/health/live", "/q/health/ready", "/q/metrics"}) {
            given().get(path).then().statusCode(401);
            given().header("Authorization", "Bearer not-a-key").get(path).then().statusCode(401);
            given().header("X-API-Key", KEY).get(path).then().statusCode(200);
        }

        ManagedChannel channel = GrpcClients.channel();
        try {
            var anonymous = GRPCInferenceServiceGrpc.newBlockingStub(channel);
            assertThatThrownBy(() -> anonymous.serverLive(ServerLiveRequest.getDefaultInstance()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
            Metadata headers = new Metadata();
            headers.put(Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER), KEY);
            var ops = anonymous.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
            assertThat(ops.serverLive(ServerLiveRequest.getDefaultInstance()).getLive()).isTrue();
        } finally {
            channel.shutdownNow();
        }
    }
}
