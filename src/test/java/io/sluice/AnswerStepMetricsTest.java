package io.sluice;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.sluice.admission.Tenant;
import io.sluice.inference.Datatype;
import io.sluice.inference.InferRequest;
import io.sluice.inference.InferResponse;
import io.sluice.inference.InferenceException;
import io.sluice.inference.InferenceService;
import io.sluice.inference.Protocol;
import io.sluice.inference.Tensor;
import io.smallrye.mutiny.Uni;
import jakarta.inject.Inject;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * An adapter's answer step runs inside the request's metrics: a failure writing the answer (a REST answer the heap
 * cannot hold as JSON) counts as what the client gets. Not in {@link RestProtocolTest}, which the integration suite
 * runs against the packaged jar, where nothing can be injected.
 */
@QuarkusTest
@QuarkusTestResource(TinyRepositoryResource.class)
class AnswerStepMetricsTest {

    @Inject
    InferenceService service;

    @Test
    void aFailureWritingTheAnswerIsCountedAsWhatTheClientGetsNotAsASuccess() {
        String success = "sluice_requests_total\\{model=\"add\",outcome=\"success\",protocol=\"rest\"}";
        String unavailable = "sluice_requests_total\\{model=\"add\",outcome=\"unavailable\",protocol=\"rest\"}";
        String noMemory = "sluice_rejections_total\\{model=\"add\",reason=\"no_memory\"}";
        String before = given().get("/q/metrics").asString();
        ByteBuffer ones = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        ones.asFloatBuffer().put(new float[] {1, 1, 1, 1});
        List<Tensor> inputs = List.of(new Tensor("A", Datatype.FP32, new long[] {1, 4}, ones),
                new Tensor("B", Datatype.FP32, new long[] {1, 4}, ones.duplicate()));
        InferRequest request = new InferRequest("add", null, null, Map.of(), inputs, List.of(), 0,
                InferRequest.NO_DEADLINE, Protocol.REST);
        InferResponse[] ran = new InferResponse[1];

        Throwable failure = catchThrowable(() -> service.infer(Tenant.ANONYMOUS, "add", null, Protocol.REST,
                () -> request, response -> {
                    ran[0] = response;
                    return Uni.createFrom().<String>failure(new InferenceException.Unavailable(
                            InferenceException.Unavailable.Reason.NO_MEMORY, "no memory", Duration.ofSeconds(1)));
                }).await().atMost(Duration.ofSeconds(30)));

        assertThat(ran[0]).as("the model answered").isNotNull();
        assertThat(failure).isInstanceOf(InferenceException.Unavailable.class);
        String after = given().get("/q/metrics").asString();
        assertThat(BatchingTest.metric(after, success)).isEqualTo(BatchingTest.metric(before, success));
        assertThat(BatchingTest.metric(after, unavailable)).isEqualTo(BatchingTest.metric(before, unavailable) + 1);
        assertThat(BatchingTest.metric(after, noMemory)).isEqualTo(BatchingTest.metric(before, noMemory) + 1);
    }
}
