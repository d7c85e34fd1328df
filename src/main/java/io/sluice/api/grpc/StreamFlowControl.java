package io.sluice.api.grpc;

import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.quarkus.grpc.GlobalInterceptor;
import io.sluice.api.grpc.proto.GRPCInferenceServiceGrpc;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Bounds what one {@code ModelStreamInfer} stream holds on the server. Quarkus's Mutiny stubs ask the
 * transport for each next message as soon as one arrives, so a client that sends faster than it reads
 * its answers would have the server read, parse and buffer everything it sent. Here the stream reads at
 * most {@link #WINDOW} requests ahead of the answers it has sent: it asks for {@code WINDOW} messages at
 * the start and for one more each time an answer is sent while the transport says it can take more (or
 * once it can, on {@code onReady}). A request is answered by one message (or the stream ends), so at most
 * {@code WINDOW} requests are parsed and unanswered at any moment; what the client sends beyond them waits
 * in HTTP/2 flow control. A client that stops taking its answers stops the reading once the transport's
 * write queue is full. On Vert.x that state is read when an answer is written, and an answer written from
 * a model thread reaches the event loop a moment later, so a burst of answers (a long request finishing
 * with those held behind it) can each let one more request in before the queue shows full: the answers
 * held for a client that does not read are bounded by a few windows, not by one. Other methods are left
 * alone.
 */
@GlobalInterceptor
@ApplicationScoped
public class StreamFlowControl implements ServerInterceptor {

    /** Requests of one stream the server reads ahead of the answers it has sent. */
    static final int WINDOW = 256;

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
            ServerCallHandler<Q, R> next) {
        if (!GRPCInferenceServiceGrpc.getModelStreamInferMethod().getFullMethodName()
                .equals(call.getMethodDescriptor().getFullMethodName())) {
            return next.startCall(call, headers);
        }
        Windowed<Q, R> windowed = new Windowed<>(call);
        return windowed.listen(next.startCall(windowed, headers));
    }

    /**
     * A stream's call with its window: the stub's own requests for messages are replaced by the window's.
     * Takes no lock of its own; the count of answers sent but not yet traded for a request is an atomic,
     * so an answer sent while {@code onReady} runs is traded by one of the two.
     */
    static final class Windowed<Q, R> extends ForwardingServerCall.SimpleForwardingServerCall<Q, R> {
        private final AtomicInteger owed = new AtomicInteger();
        private boolean opened;

        Windowed(ServerCall<Q, R> call) {
            super(call);
        }

        /**
         * The stub asks for one message at its start and one after each: the first opens the window, the rest
         * are dropped.
         */
        @Override
        public void request(int numMessages) {
            if (!opened) {
                opened = true;
                super.request(WINDOW);
            }
        }

        @Override
        public void sendMessage(R message) {
            super.sendMessage(message);
            owed.incrementAndGet();
            trade();
        }

        ServerCall.Listener<Q> listen(ServerCall.Listener<Q> listener) {
            return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
                @Override
                public void onReady() {
                    trade();
                    super.onReady();
                }
            };
        }

        /** Asks for as many requests as answers have left since the last time, if the transport takes more now. */
        private void trade() {
            if (isReady()) {
                int n = owed.getAndSet(0);
                if (n > 0) {
                    super.request(n);
                }
            }
        }
    }
}
