package io.sluice.api.grpc;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.StatusException;
import io.netty.buffer.Unpooled;
import io.sluice.admission.Tenant;
import io.sluice.admission.Tenants;
import io.sluice.api.LargeBodies;
import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.api.grpc.proto.ModelStreamInferResponse;
import io.sluice.config.SluiceConfig;
import io.sluice.inference.InferenceException;
import io.sluice.inference.InferenceService;
import io.sluice.inference.Protocol;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.subscription.Cancellable;
import io.smallrye.mutiny.subscription.MultiEmitter;
import io.vertx.core.Context;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.RejectedExecutionException;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * {@code inference.GRPCInferenceService/ModelStreamInfer} read and written straight on the HTTP server's router, as
 * {@link ModelInferRoute} serves {@code ModelInfer}, and served by {@link StreamInfer} as on the bridge. Why: the
 * bridge lost a message it could not decode and kept the stream open (a gzip message whose header is not gzip's; a
 * message flagged compressed on a call without {@code grpc-encoding}; a last message cut short at the half-close),
 * and it did not read deflate. Here each message is framed, inflated and parsed by {@link ModelInferRoute#message}, and
 * one that cannot be read ends the stream with the status {@code ModelInfer} would give it (INTERNAL naming what is
 * wrong, RESOURCE_EXHAUSTED past the limit, INVALID_ARGUMENT for bytes that are not a request) once the requests
 * before it are answered. A message declared past the limit is refused from its prefix, before its bytes arrive. A
 * compressed message that could inflate past 1 MiB is inflated and read on {@link LargeBodies}' threads, as on {@code
 * ModelInfer}, the messages after it waiting their turn; with no reader free, the stream ends UNAVAILABLE.
 *
 * <p>The stream is read at most its window ahead of its answers ({@link StreamWindow}): the HTTP/2 stream is paused
 * while the window is full or the response's write queue is, and HTTP/2 flow control holds the client back. All of a
 * stream's state is kept on its event loop; answers made on model threads are written from there, in order. Calls it
 * does not take go on to the bridge as {@link ModelInferRoute}'s do; {@code sluice.grpc.direct-infer=false} sends
 * every stream there.
 */
@ApplicationScoped
public class ModelStreamRoute {
    static final String PATH = "/inference.GRPCInferenceService/ModelStreamInfer";

    @Inject
    InferenceService service;

    @Inject
    Tenants tenants;

    @Inject
    SluiceConfig config;

    @Inject
    OpenStreams open;

    @Inject
    LargeBodies largeBodies;

    @ConfigProperty(name = "quarkus.grpc.server.max-inbound-message-size", defaultValue = "4194304")
    int maxMessageBytes;

    void register(@Observes Router router) {
        if (config.grpc().directInfer()) {
            router.post(PATH).order(-100).handler(this::handle); // before Quarkus's gRPC route
        }
    }

    void handle(RoutingContext ctx) {
        HttpServerRequest request = ctx.request();
        if (!ModelInferRoute.takes(request)) {
            ctx.next();
            return;
        }
        Tenant tenant;
        try {
            tenant = ModelInferRoute.tenant(tenants, request);
        } catch (InferenceException.Unauthenticated e) {
            GrpcWire.answerEarly(request, io.grpc.Status.UNAUTHENTICATED.withDescription(e.getMessage()));
            request.resume();
            return;
        }
        String timeout = request.getHeader("grpc-timeout");
        if (ModelInferRoute.notATimeout(timeout) != null) {
            GrpcWire.answerEarly(request, io.grpc.Status.INVALID_ARGUMENT.withDescription(CallDeadline.notATimeout(timeout)));
            request.resume();
            return;
        }
        new Stream(request, ctx.vertx().getOrCreateContext(), ModelInferRoute.encoding(request), tenant).start(
                ModelInferRoute.deadline(timeout), "true".equalsIgnoreCase(request.getHeader(StreamErrorMode.HEADER.name())));
    }

    /** One stream: its bytes framed into requests as its window allows, its answers written in order, then its status. */
    private final class Stream {
        private final HttpServerRequest request;
        private final HttpServerResponse response;
        private final Context context;
        /** {@code gzip}, {@code deflate}, or null for a call without compression. */
        private final String encoding;
        private final Tenant tenant;
        private final StreamWindow window;
        /** What arrived and is not yet taken as a message: the start of one, or whole ones the window holds back. */
        private Buffer pending = Buffer.buffer();
        private MultiEmitter<? super ModelInferRequest> requests;
        private Cancellable answers;
        /** The stand-in handed on for a message that could not be read, and its refusal; null while there is none. */
        private ModelInferRequest standIn;
        private StreamInfer.Refusal refusal;
        private boolean paused;
        private boolean halfClosed;
        /** A large compressed message is being read on {@link LargeBodies}' threads: the next waits for it. */
        private boolean reading;
        /** No message is taken any more: one was refused (nothing after it is read), or every one sent is taken. */
        private boolean done;
        /** The stream has its status, or the client went away (read by a body reader too). */
        private volatile boolean over;
        /** The status has gone to the socket: bytes the client still sends are answered with a reset. */
        private boolean endWritten;
        private boolean uploadStopped;

        Stream(HttpServerRequest request, Context context, String encoding, Tenant tenant) {
            this.request = request;
            this.response = request.response();
            this.context = context;
            this.encoding = encoding;
            this.tenant = tenant;
            this.window = new StreamWindow(config.grpc().streamWindow(), config.grpc().streamWindowBytes());
        }

        void start(long deadline, boolean failureEndsStream) {
            Multi<ModelInferRequest> read = Multi.createFrom().emitter(e -> requests = e);
            request.exceptionHandler(e -> gone()); // reset by the client
            response.closeHandler(v -> gone());
            response.exceptionHandler(e -> gone());
            response.drainHandler(v -> pump());
            request.handler(this::arrived);
            request.endHandler(v -> {
                halfClosed = true;
                pump();
            });
            // the answers are made on any thread and written from the event loop, in the order they are made
            answers = StreamInfer.serve(service, open, tenant, deadline, failureEndsStream, read,
                            r -> r == standIn ? refusal : null)
                    .subscribe().with(
                            answer -> context.runOnContext(v -> write(answer)),
                            failure -> context.runOnContext(v -> end(failure)),
                            () -> context.runOnContext(v -> end(null)));
            request.resume();
        }

        private void arrived(Buffer chunk) {
            if (over) {
                stopUpload();
                return;
            }
            if (done) {
                return; // nothing after a refused message is read
            }
            try {
                pending.appendBuffer(chunk);
            } catch (OutOfMemoryError e) { // no room for its bytes: answered, not left hanging
                refuse(noMemory(e));
                return;
            }
            pump();
        }

        /**
         * Takes every whole message that has arrived while the window has room, pausing the HTTP/2 stream when it has
         * none (or a message is being read elsewhere), and says the requests are over once the client half-closed and
         * every message it sent is taken.
         */
        private void pump() {
            int at = 0;
            while (!over && !done && !reading && requests != null) {
                if (!window.room() || response.writeQueueFull()) {
                    break;
                }
                int available = pending.length() - at;
                if (available >= GrpcWire.PREFIX) {
                    long declared = pending.getUnsignedInt(at + 1);
                    if (declared > maxMessageBytes) { // refused from its prefix, before its bytes arrive
                        refuse(unread(ModelInferRoute.tooLarge(declared + "-byte request message is larger than", maxMessageBytes)));
                        break;
                    }
                    if (available >= GrpcWire.PREFIX + declared) {
                        int end = at + GrpcWire.PREFIX + (int) declared;
                        byte[] framed;
                        try {
                            framed = pending.getBytes(at, end);
                        } catch (OutOfMemoryError e) {
                            refuse(noMemory(e));
                            break;
                        }
                        at = end;
                        if (encoding != null && framed[0] != 0 && LargeBodies.largeMessage(framed.length - GrpcWire.PREFIX)) {
                            readElsewhere(framed);
                        } else {
                            take(read(framed));
                        }
                        continue;
                    }
                }
                if (halfClosed) {
                    if (available == 0) {
                        done = true;
                        requests.complete();
                    } else { // the client said it sends no more, with part of a message sent
                        refuse(unread(new StatusException(io.grpc.Status.INTERNAL.withDescription(available < GrpcWire.PREFIX
                                ? "incomplete message prefix" : "request message cut short"))));
                    }
                }
                break;
            }
            if (done || over) {
                pending = Buffer.buffer(); // nothing more is read
            } else if (at > 0) {
                pending = pending.getBuffer(at, pending.length());
            }
            boolean full = !over && !done && (reading || !window.room() || response.writeQueueFull());
            if (full && !paused) {
                paused = true;
                request.pause();
            } else if (!full && paused) {
                paused = false;
                request.resume();
            }
        }

        /**
         * A compressed message that could inflate past 1 MiB, inflated and read on {@link LargeBodies}' threads, where it
         * cannot hold the event loop up; the messages after it wait. One that finds no reader free ends the stream with
         * UNAVAILABLE (retry in 1 s), counted as {@code ModelInfer} counts it.
         */
        private void readElsewhere(byte[] framed) {
            reading = true;
            try {
                largeBodies.executor().execute(() -> {
                    Object read = over ? null : read(framed); // the stream ended while it waited: not read for nothing
                    context.runOnContext(v -> {
                        reading = false;
                        if (read != null) {
                            take(read);
                        }
                        pump();
                    });
                });
            } catch (RejectedExecutionException full) {
                reading = false;
                InferenceException.Unavailable busy = InferenceService.readersFull();
                refuse(new StreamInfer.Refusal(busy,
                        () -> service.turnedAway(tenant, InferenceService.UNKNOWN_MODEL_TAG, Protocol.GRPC, busy)));
            }
        }

        /** One framed message, its prefix included, read: the request, or the refusal of a message that cannot be. */
        private Object read(byte[] framed) {
            try {
                return ModelInferRoute.message(framed, framed.length, encoding, maxMessageBytes);
            } catch (InvalidProtocolBufferException | RuntimeException e) {
                return unread(ModelInferRoute.unreadable(e, maxMessageBytes));
            } catch (OutOfMemoryError e) {
                return noMemory(e);
            }
        }

        /** Hands a message read on to the stream, or ends the stream with its refusal. */
        private void take(Object read) {
            if (over || done) {
                return;
            }
            if (read instanceof StreamInfer.Refusal r) {
                refuse(r);
                return;
            }
            ModelInferRequest message = (ModelInferRequest) read;
            window.read(message.getSerializedSize());
            requests.emit(message);
        }

        /** A message refused unread, the client's mistake: counted as {@code invalid} under the unknown model. */
        private StreamInfer.Refusal unread(StatusException status) {
            return new StreamInfer.Refusal(status, () -> service.refusedUnread(tenant, Protocol.GRPC));
        }

        private StreamInfer.Refusal noMemory(OutOfMemoryError e) {
            return unread(new StatusException(io.grpc.Status.RESOURCE_EXHAUSTED.withDescription(
                    "no memory for the request message: " + e)));
        }

        /** A message that cannot be read: the stream ends with its refusal once the requests before it are answered. */
        private void refuse(StreamInfer.Refusal refused) {
            done = true;
            pending = Buffer.buffer();
            refusal = refused;
            standIn = ModelInferRequest.newBuilder().build();
            requests.emit(standIn);
        }

        private void write(ModelStreamInferResponse answer) {
            if (over) {
                return;
            }
            if (!response.headWritten()) {
                response.putHeader("content-type", "application/grpc");
            }
            try {
                response.write(framed(answer));
            } catch (IllegalStateException streamGone) {
                gone();
                return;
            }
            window.answered(answer.getSerializedSize());
            pump();
        }

        /**
         * The stream's status: OK for null, or the failure's. Once it has gone to the socket, after every answer before
         * it, a client that has not half-closed is told to stop with a reset (sooner, the reset would drop what is still
         * queued for the client, the status included).
         */
        private void end(Throwable failure) {
            if (over) {
                return;
            }
            over = true;
            pending = Buffer.buffer();
            GrpcWire.end(response, failure).onComplete(written -> {
                endWritten = true;
                if (!request.isEnded()) {
                    stopUpload();
                }
            });
        }

        /** The stream is over while the client may still send: it is reset with NO_ERROR, as gRPC servers do. */
        private void stopUpload() {
            if (endWritten && !uploadStopped) {
                uploadStopped = true;
                response.reset(0);
            }
        }

        /** The client went away (or reset the stream): what still runs is cancelled, nothing more is written. */
        private void gone() {
            if (over) {
                return;
            }
            over = true;
            uploadStopped = true; // nothing to tell a stream that is gone
            pending = Buffer.buffer();
            if (answers != null) {
                answers.cancel();
            }
        }
    }

    /** {@code message} with its gRPC prefix, not compressed, encoded once into a buffer of its size. */
    static Buffer framed(ModelStreamInferResponse message) {
        int size = message.getSerializedSize();
        byte[] bytes = new byte[GrpcWire.PREFIX + size];
        GrpcWire.prefix(bytes, size);
        CodedOutputStream out = CodedOutputStream.newInstance(bytes, GrpcWire.PREFIX, size);
        try {
            message.writeTo(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        out.checkNoSpaceLeft();
        return Buffer.buffer(Unpooled.wrappedBuffer(bytes));
    }
}
