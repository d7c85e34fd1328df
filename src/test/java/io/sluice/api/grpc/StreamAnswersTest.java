package io.sluice.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.api.grpc.proto.ModelStreamInferResponse;
import io.sluice.inference.InferResponse;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.helpers.test.AssertSubscriber;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** A stream's answers, in the order of its requests, whatever a request's run does as it starts. */
class StreamAnswersTest {

    @Test
    void aRequestWhoseRunThrowsAsItStartsIsAnsweredInItsTurnAndTheStreamGoesOn() {
        AtomicReference<StreamAnswers> answers = new AtomicReference<>();
        AssertSubscriber<ModelStreamInferResponse> seen = Multi.createFrom().<ModelStreamInferResponse>emitter(
                emitter -> answers.set(new StreamAnswers(emitter, false, (request, refusal) -> { })))
                .subscribe().withSubscriber(AssertSubscriber.create(Long.MAX_VALUE));
        Function<ModelInferRequest, Uni<ModelStreamInferResponse>> run = request -> {
            if (request.getId().equals("throws")) { // as a timer Vert.x refused threw while the call subscribed
                throw new IllegalArgumentException("Cannot schedule a timer with delay < 1 ms");
            }
            return Uni.createFrom().item(StreamInfer.answer(new InferResponse("m", "1", request.getId(), Map.of(), List.of())));
        };

        answers.get().add(request("throws"), run);
        answers.get().add(request("after"), run);
        answers.get().noMoreRequests();

        List<ModelStreamInferResponse> items = seen.getItems();
        assertThat(items).hasSize(2);
        assertThat(items.get(0).getInferResponse().getId()).isEqualTo("throws");
        assertThat(items.get(0).getErrorMessage()).contains("Cannot schedule a timer");
        assertThat(items.get(1).getInferResponse().getId()).isEqualTo("after");
        assertThat(items.get(1).getErrorMessage()).isEmpty();
        seen.assertCompleted();
    }

    private static ModelInferRequest request(String id) {
        return ModelInferRequest.newBuilder().setModelName("m").setId(id).build();
    }
}
