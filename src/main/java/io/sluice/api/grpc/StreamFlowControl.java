package io.sluice.api.grpc;

import com.google.protobuf.MessageLite;
import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.quarkus.grpc.GlobalInterceptor;
import io.quarkus.runtime.Startup;
import io.sluice.api.grpc.proto.GRPCInferenceServiceGrpc;
import io.sluice.config.SluiceConfig;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

/**
 * Bounds what one {@code ModelStreamInfer} stream holds on the server when it comes through the bridge ({@code
 * sluice.grpc.direct-infer=false}; {@link ModelStreamRoute} keeps its own {@link StreamWindow}). Quarkus's Mutiny stubs ask the
 * transport for each next message as soon as one arrives, so a client that sends faster than it reads
 * its answers would have the server read, parse and buffer everything it sent. Here the stream is read one
 * message at a time, and the next is asked for only while the requests read and not yet answered are
 * fewer than the window ({@code sluice.grpc.stream-window}, 256) and, with the answers they are expected to
 * bring (each as large as the largest answer the stream has sent), take fewer bytes than its byte window
 * ({@code sluice.grpc.stream-window-bytes}, 64 MiB), and the transport says it can take more answers; an
 * answer sent, or the transport turning ready, asks again. A request is answered by one message, in order
 * (or the stream ends), so a stream holds at most the window's requests, and at most the byte window plus
 * one message of them (their serialized size; the tensors a request decodes to are held until it runs). The
 * transport reads a little further on its own: Vert.x's read queue takes about 16 whole messages nobody
 * asked for (more when one DATA frame carries many small ones) and one being assembled before it pauses the
 * HTTP/2 stream, which then still takes one stream window; beyond that, what the client sends waits in
 * HTTP/2 flow control, on its side. A client that stops taking its answers stops the reading once the
 * transport's write queue is full. On Vert.x that state is read when an answer is written, and an answer
 * written from a model thread reaches the event loop a moment later, so a burst of answers can let more
 * requests in before the queue shows full: the answers held for a client that does not read are bounded
 * by a few windows, not by one. Other methods are left alone.
 */
@GlobalInterceptor
@ApplicationScoped
@Startup // a window below 1 stops the server at start, not every gRPC call later
public class StreamFlowControl implements ServerInterceptor {

    private final int window;
    private final long windowBytes;

    @Inject
    public StreamFlowControl(SluiceConfig config) {
        this(config.grpc().streamWindow(), config.grpc().streamWindowBytes());
    }

    StreamFlowControl(int window, long windowBytes) {
        StreamWindow.check(window, windowBytes);
        this.window = window;
        this.windowBytes = windowBytes;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
            ServerCallHandler<Q, R> next) {
        if (!GRPCInferenceServiceGrpc.getModelStreamInferMethod().getFullMethodName()
                .equals(call.getMethodDescriptor().getFullMethodName())) {
            return next.startCall(call, headers);
        }
        Windowed<Q, R> windowed = new Windowed<>(call, window, windowBytes);
        return windowed.listen(next.startCall(windowed, headers));
    }

    /**
     * A stream's call with its window: the stub's own requests for messages are replaced by the window's.
     * Its state is locked briefly. The stub is never called with the lock held, since answers are sent under
     * the stream's own lock, which its requests take as they arrive; of the transport only {@code isReady} is,
     * which takes no lock that calls back here.
     */
    static final class Windowed<Q, R> extends ForwardingServerCall.SimpleForwardingServerCall<Q, R> {
        private final StreamWindow held;
        /** Whether a message was asked for and has not come. */
        private boolean asked;
        private boolean opened;

        Windowed(ServerCall<Q, R> call, int window, long windowBytes) {
            super(call);
            this.held = new StreamWindow(window, windowBytes);
        }

        /** The stub asks for one message at its start and one after each: the first opens the window, the rest are dropped. */
        @Override
        public void request(int numMessages) {
            synchronized (this) {
                if (opened) {
                    return;
                }
                opened = true;
            }
            askIfRoom();
        }

        @Override
        public void sendMessage(R message) {
            long answer = message instanceof MessageLite m ? m.getSerializedSize() : 0; // kept by protobuf for the writer
            super.sendMessage(message);
            synchronized (this) {
                held.answered(answer);
            }
            askIfRoom();
        }

        ServerCall.Listener<Q> listen(ServerCall.Listener<Q> listener) {
            return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
                @Override
                public void onMessage(Q message) {
                    int size = message instanceof MessageLite m ? m.getSerializedSize() : 0;
                    synchronized (Windowed.this) {
                        asked = false;
                        held.read(size);
                    }
                    super.onMessage(message);
                    askIfRoom(); // after the stub has it: the next one must not overtake it
                }

                @Override
                public void onReady() {
                    askIfRoom();
                    super.onReady();
                }
            };
        }

        /** Asks for the next request if none is on its way, the windows have room, and the transport takes answers. */
        private void askIfRoom() {
            synchronized (this) {
                if (!opened || asked || !held.room() || !isReady()) {
                    return;
                }
                asked = true;
            }
            super.request(1);
        }
    }
}
