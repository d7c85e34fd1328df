package io.sluice.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.Status;
import io.sluice.api.grpc.proto.GRPCInferenceServiceGrpc;
import io.sluice.api.grpc.proto.ModelInferRequest;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The windows a {@code ModelStreamInfer} stream is read with, against a call that records what it was asked. */
class StreamFlowControlTest {

    /** A transport's call: counts the messages asked for and sent, and is ready when the test says. */
    static final class RecordingCall<Q, R> extends ServerCall<Q, R> {
        final MethodDescriptor<Q, R> method;
        final List<Integer> requests = new ArrayList<>();
        final List<R> sent = new ArrayList<>();
        boolean ready = true;

        RecordingCall(MethodDescriptor<Q, R> method) {
            this.method = method;
        }

        int asked() {
            return requests.stream().mapToInt(Integer::intValue).sum();
        }

        @Override
        public void request(int numMessages) {
            requests.add(numMessages);
        }

        @Override
        public void sendHeaders(Metadata headers) {}

        @Override
        public void sendMessage(R message) {
            sent.add(message);
        }

        @Override
        public boolean isReady() {
            return ready;
        }

        @Override
        public void close(Status status, Metadata trailers) {}

        @Override
        public boolean isCancelled() {
            return false;
        }

        @Override
        public MethodDescriptor<Q, R> getMethodDescriptor() {
            return method;
        }
    }

    /** What the stub does: asks for one message as it starts; the test asks for more as messages come. */
    private static <Q, R> ServerCall<Q, R> start(StreamFlowControl flow, RecordingCall<Q, R> call,
            List<ServerCall.Listener<Q>> listener) {
        List<ServerCall<Q, R>> seen = new ArrayList<>();
        listener.add(flow.interceptCall(call, new Metadata(), (c, headers) -> {
            seen.add(c);
            c.request(1);
            return new ServerCall.Listener<Q>() { };
        }));
        return seen.get(0);
    }

    /** A request whose serialized size is {@code bytes} (at least 2). */
    private static ModelInferRequest ofSize(int bytes) {
        ModelInferRequest request = ModelInferRequest.newBuilder().setId("x".repeat(bytes - 2)).build();
        assertThat(request.getSerializedSize()).isEqualTo(bytes);
        return request;
    }

    @Test
    void aStreamIsReadOneRequestAtATimeAndAtMostTheWindowAheadOfItsAnswers() {
        RecordingCall<ModelInferRequest, String> call = new RecordingCall<>(stream());
        List<ServerCall.Listener<ModelInferRequest>> listener = new ArrayList<>();
        ServerCall<ModelInferRequest, String> stub = start(new StreamFlowControl(3, 1 << 20), call, listener);
        assertThat(call.requests).containsExactly(1);

        // each request read asks for the next, until three are read and none answered
        for (int i = 0; i < 3; i++) {
            listener.get(0).onMessage(ofSize(10));
            stub.request(1); // the stub asks for one more after each message: none of those reach the transport
        }
        assertThat(call.asked()).isEqualTo(3);

        // each answer that leaves lets one more request in
        stub.sendMessage("a1");
        assertThat(call.asked()).isEqualTo(4);
        stub.sendMessage("a2");
        assertThat(call.asked()).as("one is already asked for and has not come").isEqualTo(4);
        listener.get(0).onMessage(ofSize(10));
        assertThat(call.asked()).as("two read and unanswered, one more fits").isEqualTo(5);
        assertThat(call.sent).containsExactly("a1", "a2");
    }

    @Test
    void aStreamWhoseUnansweredRequestsFillTheByteWindowIsReadNoFurtherUntilAnAnswerFreesRoom() {
        RecordingCall<ModelInferRequest, String> call = new RecordingCall<>(stream());
        List<ServerCall.Listener<ModelInferRequest>> listener = new ArrayList<>();
        ServerCall<ModelInferRequest, String> stub = start(new StreamFlowControl(256, 100), call, listener);

        listener.get(0).onMessage(ofSize(60));
        assertThat(call.asked()).as("60 of 100 bytes held: room for more").isEqualTo(2);
        listener.get(0).onMessage(ofSize(60));
        assertThat(call.asked()).as("120 bytes held: no more").isEqualTo(2);

        stub.sendMessage("a1"); // the first request's answer: 60 bytes held again
        assertThat(call.asked()).isEqualTo(3);
        listener.get(0).onMessage(ofSize(30));
        assertThat(call.asked()).as("90 bytes held").isEqualTo(4);
        listener.get(0).onMessage(ofSize(40));
        stub.sendMessage("a2");
        assertThat(call.asked()).as("70 bytes held after the answer").isEqualTo(5);
    }

    @Test
    void theByteWindowCountsTheAnswersTheUnansweredRequestsAreExpectedToBring() {
        // small requests answered large, as MiniLM's 3 KB of token ids are answered with 196 KB of floats
        RecordingCall<ModelInferRequest, ModelInferRequest> call = new RecordingCall<>(stream());
        List<ServerCall.Listener<ModelInferRequest>> listener = new ArrayList<>();
        ServerCall<ModelInferRequest, ModelInferRequest> stub = start(new StreamFlowControl(256, 400), call, listener);
        for (int i = 0; i < 3; i++) {
            listener.get(0).onMessage(ofSize(10));
        }
        assertThat(call.asked()).as("no answer seen yet: the requests' 30 bytes alone").isEqualTo(4);

        stub.sendMessage(ofSize(100)); // from now on each unanswered request counts 100 bytes more
        listener.get(0).onMessage(ofSize(10));
        assertThat(call.asked()).as("three held: 30 + 3 x 100 = 330 of 400 bytes, room for one more").isEqualTo(5);
        listener.get(0).onMessage(ofSize(10));
        assertThat(call.asked()).as("four held: 40 + 4 x 100 = 440 bytes, no room").isEqualTo(5);
        stub.sendMessage(ofSize(100));
        assertThat(call.asked()).as("three held again").isEqualTo(6);
    }

    @Test
    void answersTheTransportCannotTakeLetNoRequestInUntilItIsReady() {
        RecordingCall<ModelInferRequest, String> call = new RecordingCall<>(stream());
        List<ServerCall.Listener<ModelInferRequest>> listener = new ArrayList<>();
        ServerCall<ModelInferRequest, String> stub = start(new StreamFlowControl(256, 1 << 20), call, listener);
        listener.get(0).onMessage(ofSize(10));
        listener.get(0).onMessage(ofSize(10));
        assertThat(call.asked()).isEqualTo(3);

        call.ready = false; // a client that does not read its answers
        listener.get(0).onMessage(ofSize(10));
        stub.sendMessage("a1");
        stub.sendMessage("a2");
        assertThat(call.sent).hasSize(2);
        assertThat(call.asked()).isEqualTo(3);

        listener.get(0).onReady(); // still not ready: nothing
        assertThat(call.asked()).isEqualTo(3);

        call.ready = true;
        listener.get(0).onReady();
        listener.get(0).onReady(); // one is on its way: not asked twice
        assertThat(call.requests).containsExactly(1, 1, 1, 1);
    }

    @Test
    void windowsBelowOneAreRefused() {
        assertThatThrownBy(() -> new StreamFlowControl(0, 100)).hasMessageContaining("sluice.grpc.stream-window");
        assertThatThrownBy(() -> new StreamFlowControl(1, 0)).hasMessageContaining("stream-window-bytes");
    }

    @Test
    void otherMethodsAreLeftAlone() {
        RecordingCall<Object, Object> call = new RecordingCall<>(unary());
        List<ServerCall<Object, Object>> seen = new ArrayList<>();
        new StreamFlowControl(256, 1 << 20).interceptCall(call, new Metadata(), (c, headers) -> {
            seen.add(c);
            c.request(1);
            return new ServerCall.Listener<Object>() { };
        });
        assertThat(seen).containsExactly(call);
        assertThat(call.requests).containsExactly(1);
    }

    @SuppressWarnings("unchecked")
    private static <R> MethodDescriptor<ModelInferRequest, R> stream() {
        return (MethodDescriptor<ModelInferRequest, R>) (MethodDescriptor<?, ?>) GRPCInferenceServiceGrpc.getModelStreamInferMethod();
    }

    @SuppressWarnings("unchecked")
    private static MethodDescriptor<Object, Object> unary() {
        return (MethodDescriptor<Object, Object>) (MethodDescriptor<?, ?>) GRPCInferenceServiceGrpc.getModelInferMethod();
    }
}
