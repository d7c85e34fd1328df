package io.sluice.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.api.grpc.proto.ModelStreamInferResponse;
import io.sluice.inference.InferResponse;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.helpers.test.AssertSubscriber;
import io.smallrye.mutiny.subscription.UniEmitter;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * A stream when the server's shutdown delay is over ({@link OpenStreams#closeAll}): what it took is answered,
 * what comes later is told to go elsewhere, and it ends with UNAVAILABLE, or OK if its client had finished
 * sending. A stream one of whose messages was refused ends the same way, with the refusal.
 */
class StreamShutdownTest {

    /** A request whose run the test finishes. */
    private static final class Held implements Function<ModelInferRequest, Uni<ModelStreamInferResponse>> {
        final AtomicReference<UniEmitter<? super ModelStreamInferResponse>> running = new AtomicReference<>();

        @Override
        public Uni<ModelStreamInferResponse> apply(ModelInferRequest request) {
            return Uni.createFrom().<ModelStreamInferResponse>emitter(e -> running.set(e));
        }

        void answer() {
            running.get().complete(StreamInfer.answer(new InferResponse("m", "1", "held", java.util.Map.of(), List.of())));
        }
    }

    private static ModelInferRequest request(String id) {
        return ModelInferRequest.newBuilder().setModelName("m").setId(id).build();
    }

    /** The requests a stream turned away, by id, with the reason's text. */
    private final List<String> turnedAway = new CopyOnWriteArrayList<>();

    /** A stream registered with {@code open}, its answers seen by the returned subscriber. */
    private AssertSubscriber<ModelStreamInferResponse> stream(OpenStreams open, AtomicReference<StreamAnswers> answers) {
        return Multi.createFrom().<ModelStreamInferResponse>emitter(emitter -> {
            StreamAnswers a = new StreamAnswers(emitter, false,
                    (request, refusal) -> turnedAway.add(request.getId() + ": " + refusal.getMessage()));
            emitter.onTermination(() -> open.ended(a));
            answers.set(a);
            open.opened(a);
        }).subscribe().withSubscriber(AssertSubscriber.create(Long.MAX_VALUE));
    }

    @Test
    void aStreamAnswersWhatItTookThenEndsUnavailableAndTellsLaterRequestsToGoElsewhere() {
        OpenStreams open = new OpenStreams();
        AtomicReference<StreamAnswers> answers = new AtomicReference<>();
        AssertSubscriber<ModelStreamInferResponse> seen = stream(open, answers);
        Held held = new Held();
        answers.get().add(request("taken"), held);
        assertThat(open.count()).isEqualTo(1);

        open.closeAll();
        answers.get().add(request("late"), held); // told at once, but answered in its turn: after "taken"
        assertThat(turnedAway).singleElement().asString().startsWith("late: the server is shutting down");
        assertThat(seen.getItems()).isEmpty();
        seen.assertNotTerminated();

        held.answer();
        List<ModelStreamInferResponse> items = seen.getItems();
        assertThat(items).hasSize(2);
        assertThat(items.get(0).getErrorMessage()).isEmpty();
        assertThat(items.get(1).getInferResponse().getId()).isEqualTo("late");
        assertThat(items.get(1).getErrorMessage()).contains("the server is shutting down").contains("(retry after 0 ms)");
        seen.assertFailedWith(io.grpc.StatusException.class, "the server is shutting down");
        // with RetryInfo, as every UNAVAILABLE Sluice answers: here, retry at once, on a new stream
        io.grpc.Metadata trailers = ((io.grpc.StatusException) seen.getFailure()).getTrailers();
        assertThat(trailers.get(GrpcErrors.STATUS_DETAILS).getDetailsList())
                .anyMatch(d -> d.is(com.google.rpc.RetryInfo.class));
        assertThat(Status.fromThrowable(seen.getFailure()).getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(open.count()).isZero();
    }

    @Test
    void anIdleStreamEndsAtOnceAndOneOpenedDuringTheShutdownToo() {
        OpenStreams open = new OpenStreams();
        AssertSubscriber<ModelStreamInferResponse> idle = stream(open, new AtomicReference<>());
        open.closeAll();
        assertThat(Status.fromThrowable(idle.getFailure()).getCode()).isEqualTo(Status.Code.UNAVAILABLE);

        AssertSubscriber<ModelStreamInferResponse> late = stream(open, new AtomicReference<>());
        assertThat(Status.fromThrowable(late.getFailure()).getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(open.count()).isZero();
    }

    @Test
    void aStreamWhoseClientHadFinishedSendingEndsOk() {
        OpenStreams open = new OpenStreams();
        AtomicReference<StreamAnswers> answers = new AtomicReference<>();
        AssertSubscriber<ModelStreamInferResponse> seen = stream(open, answers);
        Held held = new Held();
        answers.get().add(request("last"), held);
        answers.get().noMoreRequests();
        open.closeAll();
        held.answer();
        seen.assertCompleted();
        assertThat(seen.getItems()).hasSize(1);
        assertThat(turnedAway).isEmpty();
    }

    @Test
    void aRefusedMessageEndsTheStreamWithItsStatusOnceTheRequestsBeforeItAreAnswered() {
        AtomicReference<StreamAnswers> answers = new AtomicReference<>();
        AssertSubscriber<ModelStreamInferResponse> seen = stream(new OpenStreams(), answers);
        Held held = new Held();
        answers.get().add(request("before"), held);

        AtomicInteger counted = new AtomicInteger();
        answers.get().refused(Status.RESOURCE_EXHAUSTED.withDescription("too large").asRuntimeException(),
                counted::incrementAndGet);
        answers.get().add(request("after"), held); // read after the refused one: not taken
        // a second refused message before the end: neither the stream's answer nor counted
        answers.get().refused(Status.INVALID_ARGUMENT.withDescription("second").asRuntimeException(),
                counted::incrementAndGet);
        seen.assertNotTerminated();
        assertThat(counted).hasValue(1);

        held.answer(); // the answer to "before" still comes, then the refusal
        assertThat(seen.getItems()).singleElement().satisfies(a -> assertThat(a.getErrorMessage()).isEmpty());
        assertThat(Status.fromThrowable(seen.getFailure()).getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(Status.fromThrowable(seen.getFailure()).getDescription()).isEqualTo("too large");
    }

    @Test
    void aRefusalIsHeardEvenWhenTheClientFinishedSendingRightAfterIt() {
        // tritonclient's stop_stream() half-closes after its last message, here the refused one
        AtomicReference<StreamAnswers> answers = new AtomicReference<>();
        AssertSubscriber<ModelStreamInferResponse> seen = stream(new OpenStreams(), answers);
        Held held = new Held();
        answers.get().add(request("before"), held);
        answers.get().refused(Status.INVALID_ARGUMENT.withDescription("not a ModelInferRequest").asRuntimeException(), () -> { });
        answers.get().noMoreRequests();
        seen.assertNotTerminated();

        held.answer();
        assertThat(seen.getItems()).hasSize(1);
        assertThat(Status.fromThrowable(seen.getFailure()).getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    }
}
