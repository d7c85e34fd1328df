package io.sluice.api.grpc;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.sluice.Await;
import io.sluice.GrpcClients;
import io.sluice.GrpcStream;
import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.api.grpc.proto.ModelStreamInferResponse;
import io.sluice.fixtures.TinyModels;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * A request that reaches a stream after the server closed its streams at shutdown is told to go elsewhere
 * and counted as every rejection is. The streams are closed here by hand ({@link OpenStreams#closeAll}),
 * which a shutdown does when its delay is over; the server then serves no stream again, so this test has
 * its own.
 */
@QuarkusTest
@TestProfile(StreamShutdownCountTest.Profile.class)
class StreamShutdownCountTest {

    /** Rows that keep the slow model busy for seconds, as in {@code DeadlineAndCancelTest}. */
    private static final int LONG_ROWS = 4096;

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Path repo = TinyModels.newRepository("sluice-stream-shutdown");
            TinyModels.write(repo, "slow", 1, TinyModels.slow(2000));
            return Map.of(
                    "sluice.repository.paths", repo.toString(),
                    "sluice.models.slow.batching.instances", "1",
                    "sluice.models.slow.batching.max-batch-size", "1",
                    "sluice.models.slow.threads.intra-op", "1",
                    "sluice.models.slow.warmup.batch-sizes", "1");
        }
    }

    @Inject
    OpenStreams streams;

    @Test
    void aRequestTurnedAwayByAClosingStreamIsCountedAsARejection() throws InterruptedException {
        Await.serverReady();
        String unavailable = "sluice_requests_total\\{model=\"slow\",outcome=\"unavailable\",protocol=\"grpc\"}";
        String notReady = "sluice_rejections_total\\{model=\"slow\",reason=\"not_ready\"}";
        String tenant = "sluice_tenant_requests_total\\{model=\"slow\",outcome=\"unavailable\",tenant=\"anonymous\"}";
        String success = "sluice_requests_total\\{model=\"slow\",outcome=\"success\",protocol=\"grpc\"}";
        String unknown = "sluice_requests_total\\{model=\"_unknown\",outcome=\"unavailable\",protocol=\"grpc\"}";
        double unavailableBefore = metric(unavailable);
        double notReadyBefore = metric(notReady);
        double tenantBefore = metric(tenant);
        double successBefore = metric(success);
        double unknownBefore = metric(unknown);
        ManagedChannel channel = GrpcClients.channel();
        try {
            GrpcStream stream = GrpcStream.open(channel, false).send(rows(LONG_ROWS).setId("long").build());
            await().atMost(Duration.ofSeconds(10)).until(() -> metric("sluice_inflight\\{model=\"slow\"}") == 1);

            streams.closeAll();
            stream.send(rows(1).setId("late").build());
            stream.send(rows(1).setModelName("nope").setId("unknown").build()); // a name no model has: one series for all
            await().atMost(Duration.ofSeconds(10)).until(() -> metric(unknown) == unknownBefore + 1);
            assertThat(metric(unavailable)).isEqualTo(unavailableBefore + 1);
            assertThat(stream.answers()).as("the long request must still be running").isEmpty();
            assertThat(metric(notReady)).isEqualTo(notReadyBefore + 1);
            assertThat(metric(tenant)).isEqualTo(tenantBefore + 1);

            assertThat(stream.awaitEnd().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            List<ModelStreamInferResponse> answers = stream.answers();
            assertThat(answers).extracting(a -> a.getInferResponse().getId()).containsExactly("long", "late", "unknown");
            assertThat(answers.get(0).getErrorMessage()).isEmpty();
            assertThat(answers.get(1).getErrorMessage()).contains("the server is shutting down");
            assertThat(answers.get(2).getErrorMessage()).contains("the server is shutting down");
            assertThat(metric(success)).as("the long request, taken before the streams closed, ran")
                    .isEqualTo(successBefore + 1);
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private static ModelInferRequest.Builder rows(int n) {
        return ModelInferRequest.newBuilder().setModelName("slow")
                .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("X").setDatatype("FP32").addShape(n).addShape(256))
                .addRawInputContents(ByteString.copyFrom(new byte[n * 1024]));
    }

    /** A counter's value in the scrape; 0 for a series not there yet (some appear at their first increment). */
    private static double metric(String nameAndTags) {
        Matcher m = Pattern.compile("(?m)^" + nameAndTags + " ([0-9.eE+-]+)( #.*)?$")
                .matcher(given().get("/q/metrics").asString());
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }
}
