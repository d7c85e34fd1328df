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
 * most {@link #WINDOW} requests ahead of the answers that have left: it asks for {@code WINDOW} messages
 * at the start and for one more each time an answer is sent while the transport can take it (or once it
 * can, on {@code onReady}). A stream answers every request with exactly one message, so at most {@code
 * WINDOW} of its requests are ever parsed and unanswered; the rest wait in HTTP/2 flow control, on the
 * client's side. Other methods are left alone.
 */
@GlobalInterceptor
@ApplicationScoped
public class StreamFlowControl implements ServerInterceptor {

    /** Requests of one stream the server reads ahead of the answers it has sent. */
    static final int WINDOW = 256;

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        if (!GRPCInferenceServiceGrpc.getModelStreamInferMethod().getFullMethodName()
                .equals(call.getMethodDescriptor().getFullMethodName())) {
            return next.startCall(call, headers);
        }
        Windowed<Q, R> windowed = new Windowed<>(call);
        return windowed.listen(next.startCall(windowed, headers));
    }

    /**
     * A stream's call with its window: the stub's own requests for messages are replaced by the window's.
     * Holds no lock while it calls the transport; the count of answers sent but not yet traded for a
     * request is an atomic, so an answer sent while {@code onReady} runs is traded by one of the two.
     */
    static final class Windowed<Q, R> extends ForwardingServerCall.SimpleForwardingServerCall<Q, R> {
        private final AtomicInteger owed = new AtomicInteger();
        private boolean opened;

        Windowed(ServerCall<Q, R> call) {
            super(call);
        }

        /** The stub asks for one message at its start and one after each: the first opens the window, the rest are dropped. */
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
