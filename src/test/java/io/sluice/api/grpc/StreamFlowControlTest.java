package io.sluice.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.Status;
import io.sluice.api.grpc.proto.GRPCInferenceServiceGrpc;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The window a {@code ModelStreamInfer} stream is read with, against a call that records what it was asked. */
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
    private static <Q, R> ServerCall<Q, R> start(RecordingCall<Q, R> call, List<ServerCall.Listener<Q>> listener) {
        List<ServerCall<Q, R>> seen = new ArrayList<>();
        listener.add(new StreamFlowControl().interceptCall(call, new Metadata(), (c, headers) -> {
            seen.add(c);
            c.request(1);
            return new ServerCall.Listener<>() { };
        }));
        return seen.get(0);
    }

    @Test
    void aStreamIsReadAtMostTheWindowAheadOfItsAnswers() {
        RecordingCall<Object, String> call = new RecordingCall<>(stream());
        List<ServerCall.Listener<Object>> listener = new ArrayList<>();
        ServerCall<Object, String> stub = start(call, listener);
        assertThat(call.asked()).isEqualTo(StreamFlowControl.WINDOW);

        // the stub asks for one more after each message it is given: none of those reach the transport
        for (int i = 0; i < StreamFlowControl.WINDOW; i++) {
            stub.request(1);
        }
        assertThat(call.asked()).isEqualTo(StreamFlowControl.WINDOW);

        // each answer that leaves lets one more request in
        stub.sendMessage("a1");
        stub.sendMessage("a2");
        assertThat(call.sent).containsExactly("a1", "a2");
        assertThat(call.asked()).isEqualTo(StreamFlowControl.WINDOW + 2);
    }

    @Test
    void answersTheTransportCannotTakeLetNoRequestInUntilItIsReady() {
        RecordingCall<Object, String> call = new RecordingCall<>(stream());
        List<ServerCall.Listener<Object>> listener = new ArrayList<>();
        ServerCall<Object, String> stub = start(call, listener);

        call.ready = false; // a client that does not read its answers
        stub.sendMessage("a1");
        stub.sendMessage("a2");
        stub.sendMessage("a3");
        assertThat(call.sent).hasSize(3);
        assertThat(call.asked()).isEqualTo(StreamFlowControl.WINDOW);

        listener.get(0).onReady(); // still not ready: nothing
        assertThat(call.asked()).isEqualTo(StreamFlowControl.WINDOW);

        call.ready = true;
        listener.get(0).onReady();
        assertThat(call.requests).containsExactly(StreamFlowControl.WINDOW, 3);
        listener.get(0).onReady(); // owed nothing more
        assertThat(call.requests).containsExactly(StreamFlowControl.WINDOW, 3);
    }

    @Test
    void otherMethodsAreLeftAlone() {
        RecordingCall<Object, Object> call = new RecordingCall<>(unary());
        List<ServerCall<Object, Object>> seen = new ArrayList<>();
        new StreamFlowControl().interceptCall(call, new Metadata(), (c, headers) -> {
            seen.add(c);
            c.request(1);
            return new ServerCall.Listener<>() { };
        });
        assertThat(seen).containsExactly(call);
        assertThat(call.requests).containsExactly(1);
    }

    @SuppressWarnings("unchecked")
    private static <R> MethodDescriptor<Object, R> stream() {
        return (MethodDescriptor<Object, R>) (MethodDescriptor<?, ?>) GRPCInferenceServiceGrpc.getModelStreamInferMethod();
    }

    @SuppressWarnings("unchecked")
    private static MethodDescriptor<Object, Object> unary() {
        return (MethodDescriptor<Object, Object>) (MethodDescriptor<?, ?>) GRPCInferenceServiceGrpc.getModelInferMethod();
    }
}
