package io.sluice.api.grpc;

import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.StatusException;
import io.netty.buffer.ByteBuf;
import io.sluice.admission.Tenant;
import io.sluice.admission.Tenants;
import io.sluice.api.Inflating;
import io.sluice.api.LargeBodies;
import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.config.SluiceConfig;
import io.sluice.inference.InferRequest;
import io.sluice.inference.InferenceException;
import io.sluice.inference.InferenceService;
import io.sluice.inference.Protocol;
import io.sluice.inference.Tensor;
import io.smallrye.mutiny.subscription.Cancellable;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * {@code inference.GRPCInferenceService/ModelInfer} served straight on the HTTP server's router, ahead of
 * Quarkus's gRPC route, with the same translation ({@link GrpcTensors}), errors ({@link GrpcErrors}) and
 * authentication ({@link Tenants}) as {@link GrpcInferenceService}. Why: through the grpc-java bridge every
 * answer was encoded into a growing byte stream and copied three more times on its way to the socket
 * (about 1.1 MB of heap per 196 KB MiniLM answer); here its fields are encoded once and its outputs' bytes
 * follow without another copy ({@link GrpcWire#frame(io.sluice.api.grpc.proto.ModelInferResponse,
 * java.util.List)}), and a request's tensors are read in place. It reads gzip and deflate messages too, the
 * encodings clients compress with (tritonclient offers both; the bridge reads gzip alone). Calls it does not take
 * go on to the bridge unchanged: not HTTP/2, not {@code application/grpc}, a {@code grpc-encoding} other than
 * identity, gzip or deflate ({@link GrpcEncodings} refuses it there). A {@code grpc-timeout} that is not one is
 * refused here with INVALID_ARGUMENT once the caller is authenticated, in {@link CallDeadline}'s words. A compressed
 * message that could inflate past 1 MiB is inflated and read on {@link LargeBodies}' threads, not the event loop. The
 * deadline is held here while the message is being read (a client that stops sending mid-message is answered
 * DEADLINE_EXCEEDED and its stream reset) or waits for a reader (answered DEADLINE_EXCEEDED at its deadline, and
 * never read), and by the queue and the model's guard after. {@code sluice.grpc.direct-infer=false} sends every call to the bridge.
 */
@ApplicationScoped
public class ModelInferRoute {
    static final String PATH = "/inference.GRPCInferenceService/ModelInfer";
    private static final String GZIP = "gzip";
    private static final String DEFLATE = "deflate";

    @Inject
    InferenceService service;

    @Inject
    Tenants tenants;

    @Inject
    SluiceConfig config;

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
        if (!takes(request)) {
            ctx.next();
            return;
        }
        String timeout = request.getHeader("grpc-timeout");
        // one that is not a timeout is refused here (after authentication), as CallDeadline refuses it on the bridge
        new Call(request, ctx.vertx(), deadline(timeout), encoding(request), notATimeout(timeout)).start();
    }

    /**
     * Whether a route of Sluice's own takes the call: HTTP/2, {@code application/grpc} or {@code application/grpc+proto},
     * and a {@code grpc-encoding} of identity, gzip or deflate, or none.
     */
    static boolean takes(HttpServerRequest request) {
        String contentType = request.getHeader("content-type");
        String encoding = request.getHeader("grpc-encoding");
        return request.version() == HttpVersion.HTTP_2
                && contentType != null
                && (contentType.equals("application/grpc") || contentType.equals("application/grpc+proto"))
                && (encoding == null || encoding.equals("identity") || encoding.equals(GZIP) || encoding.equals(DEFLATE));
    }

    /** The call's {@code gzip} or {@code deflate}, or null for one without compression. */
    static String encoding(HttpServerRequest request) {
        String encoding = request.getHeader("grpc-encoding");
        return GZIP.equals(encoding) || DEFLATE.equals(encoding) ? encoding : null;
    }

    /** The deadline a {@code grpc-timeout} header sets; {@link InferRequest#NO_DEADLINE} without one, or one that is not one. */
    static long deadline(String timeout) {
        long nanos = timeout == null ? -1 : GrpcWire.timeoutNanos(timeout);
        return nanos < 0 ? InferRequest.NO_DEADLINE : InferRequest.deadlineAfterNanos(System.nanoTime(), nanos);
    }

    /** {@code timeout}, a {@code grpc-timeout} header, if it is not a gRPC timeout; null if it is one, or none. */
    static String notATimeout(String timeout) {
        return timeout != null && GrpcWire.timeoutNanos(timeout) < 0 ? timeout : null;
    }

    /** The caller of {@code request}, from its {@code authorization} or API key header; anonymous with auth off. */
    static Tenant tenant(Tenants tenants, HttpServerRequest request) {
        if (!tenants.enabled()) {
            return Tenant.ANONYMOUS;
        }
        return tenants.authenticate(request.headers().getAll("authorization"),
                request.headers().getAll(Tenants.API_KEY_HEADER), Protocol.GRPC);
    }

    /**
     * The status that refuses a message {@link #message} could not read ({@code e}, what it threw): RESOURCE_EXHAUSTED
     * past the limit, INVALID_ARGUMENT for bytes that are not a {@code ModelInferRequest}, INTERNAL for broken framing
     * or data that does not inflate, as grpc-java answers it.
     */
    static StatusException unreadable(Exception e, int maxBytes) {
        if (e instanceof MessageTooLarge) {
            return tooLarge(e.getMessage(), maxBytes);
        }
        if (e instanceof InvalidProtocolBufferException) {
            return new StatusException(io.grpc.Status.INVALID_ARGUMENT
                    .withDescription("request is not a ModelInferRequest: " + e.getMessage()));
        }
        if (e instanceof IllegalArgumentException) {
            return new StatusException(io.grpc.Status.INTERNAL.withDescription(e.getMessage()));
        }
        return new StatusException(io.grpc.Status.INTERNAL.withDescription("request message unreadable: " + e));
    }

    /** RESOURCE_EXHAUSTED: {@code what} (a message too large, in the reader's words) and the limit. */
    static StatusException tooLarge(String what, int maxBytes) {
        return new StatusException(io.grpc.Status.RESOURCE_EXHAUSTED.withDescription(
                what + " the server's limit of " + maxBytes + " bytes (quarkus.grpc.server.max-inbound-message-size)"));
    }

    /** One call: reads the request message, runs it, answers once (or not at all when the client went away). */
    private final class Call {
        private final HttpServerRequest request;
        private final HttpServerResponse response;
        private final long deadline;
        /** When the call's headers were read, as {@link #deadline} was set. */
        private final long arrived = System.nanoTime();
        /** {@code gzip}, {@code deflate}, or null for a call without compression. */
        private final String encoding;
        private final AtomicBoolean answered = new AtomicBoolean();
        /** The request's bytes as they arrived; null once read, or refused. */
        private Received body = new Received();
        private boolean prefixChecked;
        private boolean uploadStopped;
        private volatile Cancellable running;
        /** Who sent the call, once authenticated. */
        private Tenant tenant;
        private final Vertx vertx;
        /**
         * The timer of the deadline while the message is being read, or waits for a reader; -1 when none. Set on the
         * event loop before the message is read; stopped there, by the reader that takes it, or by an answer.
         */
        private volatile long readTimer = -1;
        /** Handed to {@link LargeBodies}' readers and not yet taken by one: its read timer still runs. */
        private volatile boolean waitsForReader;

        /** A {@code grpc-timeout} header that is not one, refused once the caller is authenticated; null if none. */
        private final String notATimeout;

        Call(HttpServerRequest request, Vertx vertx, long deadline, String encoding, String notATimeout) {
            this.request = request;
            this.notATimeout = notATimeout;
            this.vertx = vertx;
            this.response = request.response();
            this.deadline = deadline;
            this.encoding = encoding;
        }

        void start() {
            try {
                tenant = tenant(tenants, request);
            } catch (InferenceException.Unauthenticated e) {
                fail(e);
                request.handler(chunk -> stopUpload());
                request.resume();
                return;
            }
            if (notATimeout != null) {
                fail(new StatusException(io.grpc.Status.INVALID_ARGUMENT.withDescription(
                        CallDeadline.notATimeout(notATimeout))));
                request.handler(chunk -> stopUpload());
                request.resume();
                return;
            }
            response.closeHandler(v -> closed());
            response.exceptionHandler(e -> closed());
            request.exceptionHandler(e -> closed()); // a reset stream: closed() cancels the call
            request.handler(this::append);
            request.endHandler(v -> received());
            if (deadline != InferRequest.NO_DEADLINE) {
                // once read, the message's deadline is held by the queue and the model's guard; until then, here (a
                // client that stops sending mid-message would otherwise hold the stream and its bytes)
                long millis = Math.max(1, (deadline - System.nanoTime() + 999_999) / 1_000_000);
                readTimer = vertx.setTimer(millis, id -> readPastDeadline()); // on this event loop, as the handlers
            }
            request.resume();
        }

        /**
         * The deadline passed before the whole message arrived: DEADLINE_EXCEEDED, and the upload is stopped; or while
         * it waited for a reader: DEADLINE_EXCEEDED at once, counted as the reader counts it, and it is never read.
         */
        private void readPastDeadline() {
            readTimer = -1;
            if (waitsForReader) {
                failWaiting(deadlineWaiting());
                return;
            }
            if (body == null || answered.get()) {
                return; // read (the queue holds the deadline now), refused, or gone
            }
            body = null;
            // not counted in sluice_requests_total: the model's name is in the message that never arrived
            if (fail(new InferenceException.DeadlineExceeded("deadline passed while the request message was being read"
                    + " (grpc-timeout " + request.getHeader("grpc-timeout") + ")")) && !request.isEnded()) {
                uploadStopped = true;
                response.reset(0);
            }
        }

        private void append(Buffer chunk) {
            if (body == null) {
                stopUpload();
                return;
            }
            try {
                appendChecked(chunk);
            } catch (RuntimeException | OutOfMemoryError e) { // no room for its bytes: answered, not left hanging
                body = null;
                refuseUnread(new StatusException(io.grpc.Status.RESOURCE_EXHAUSTED.withDescription(
                        "no memory for the request message: " + e)));
            }
        }

        private void appendChecked(Buffer chunk) {
            if ((long) body.length + chunk.length() > (long) GrpcWire.PREFIX + maxMessageBytes) {
                body = null;
                refuseUnread(tooLarge("request message larger than"));
                return;
            }
            if (prefixChecked && body.length + chunk.length() > body.expected) { // told at once, never held
                body = null;
                refuseUnread(new StatusException(io.grpc.Status.INTERNAL.withDescription(
                        "more than one request message in a unary call")));
                return;
            }
            body.append(chunk);
            if (!prefixChecked && body.length >= GrpcWire.PREFIX) {
                prefixChecked = true;
                long declared = body.declared();
                if (declared > maxMessageBytes) { // refused from its prefix, before its bytes arrive
                    body = null;
                    refuseUnread(tooLarge(declared + "-byte request message is larger than"));
                    return;
                }
                body.expected = GrpcWire.PREFIX + declared;
            }
        }

        /** The message is read, or the call answered or gone: the read's deadline timer is not needed. */
        private void stopReadTimer() {
            if (readTimer != -1) {
                vertx.cancelTimer(readTimer);
                readTimer = -1;
            }
        }

        private void received() {
            if (body == null || answered.get()) {
                stopReadTimer();
                return;
            }
            Received read = body;
            body = null;
            if (largeCompressed(read)) {
                waitsForReader = true; // its read timer goes on: the deadline holds while it waits its turn
                readElsewhere(read, Vertx.currentContext());
            } else {
                stopReadTimer();
                ModelInferRequest message = parse(read);
                if (message != null) {
                    start(message);
                }
            }
        }

        /** Whether {@code read} holds a compressed message that could inflate past 1 MiB ({@link LargeBodies}). */
        private boolean largeCompressed(Received read) {
            return encoding != null && read.length >= GrpcWire.PREFIX && read.bytes[0] != 0
                    && LargeBodies.largeMessage(read.length - GrpcWire.PREFIX);
        }

        /**
         * Inflates and parses {@code read} on {@link LargeBodies}' threads, where it cannot hold the event loop up for a
         * second, then starts it from {@code context}, the call's own (null: from the reader), as every other call
         * starts: its rate limit, admission and trace as theirs. One cancelled, or past its deadline, while it waits is
         * never read; one that finds no room is turned away with UNAVAILABLE ({@code queue_full}).
         */
        private void readElsewhere(Received read, io.vertx.core.Context context) {
            try {
                largeBodies.executor().execute(() -> { // no trace needed here: the call starts back on its context
                    waitsForReader = false;
                    if (answered.get()) {
                        return; // cancelled, or past its deadline (its read timer), while it waited
                    }
                    if (deadline != InferRequest.NO_DEADLINE && System.nanoTime() - deadline >= 0) {
                        failWaiting(deadlineWaiting()); // the timer is due: not read for nothing
                        return;
                    }
                    stopReadTimer(); // the queue and the model's guard hold the deadline from here
                    ModelInferRequest message = parse(read);
                    // (dropped by Vert.x if the event loop has closed meanwhile: see LargeBodies#close)
                    if (message != null && context != null) {
                        context.runOnContext(v -> start(message));
                    } else if (message != null) {
                        start(message);
                    }
                });
            } catch (RejectedExecutionException full) {
                waitsForReader = false;
                // not the client's mistake: counted as the full model's 503s are, under the unknown model's tag
                failWaiting(InferenceService.readersFull());
            }
        }

        private static InferenceException deadlineWaiting() {
            return new InferenceException.DeadlineExceeded("deadline passed while the request message waited to be read");
        }

        /** Answers a message refused before a reader read it, counted under the unknown model's tag (once). */
        private void failWaiting(InferenceException refusal) {
            fail(refusal, () -> service.turnedAway(tenant, InferenceService.UNKNOWN_MODEL_TAG, Protocol.GRPC, refusal));
        }

        /** The request message in {@code read}; null when it is refused (answered and counted here). */
        private ModelInferRequest parse(Received read) {
            try {
                return message(read.bytes, read.length, encoding, maxMessageBytes);
            } catch (InvalidProtocolBufferException | RuntimeException e) {
                refuseUnread(unreadable(e, maxMessageBytes));
            } catch (OutOfMemoryError e) { // as the bridge's marshaller: answered, never left hanging
                refuseUnread(new StatusException(io.grpc.Status.INTERNAL.withDescription("request message unreadable: " + e)));
            }
            return null;
        }

        /** Runs {@code message}, read: its rate limit, the model, the answer. */
        private void start(ModelInferRequest message) {
            if (answered.get()) {
                return; // the client went away while it was read elsewhere
            }
            try {
                // its tensors are translated only once the rate limit and the model's admission let it in
                // framed inside the request's count: a failure framing it is what the client gets, and counted so
                running = service.infer(tenant, message.getModelName(), GrpcTensors.version(message), Protocol.GRPC,
                        () -> GrpcTensors.request(message, deadline),
                        r -> GrpcInferenceService.written(() -> GrpcWire.frame(GrpcInferenceService.responseHead(r),
                                r.outputs().stream().map(Tensor::data).toList())))
                        .subscribe().with(this::succeed, this::fail);
            } catch (RuntimeException | Error e) { // out of memory reading its tensors, with no rate limit between
                fail(e);
                return;
            }
            if (answered.get()) { // the client went away while the call was being started
                running.cancel();
            }
        }

        private void succeed(ByteBuf framed) {
            if (!answered.compareAndSet(false, true)) {
                return;
            }
            try {
                response.putHeader("content-type", "application/grpc");
                response.putTrailer("grpc-status", "0");
                response.end(Buffer.buffer(framed));
            } catch (IllegalStateException streamGone) {
                // reset by the client while the answer was being written: no one to tell
            }
        }

        /**
         * {@link #fail} for a message refused before it was parsed, counted ({@link InferenceService#refusedUnread})
         * if this is the call's answer.
         */
        private void refuseUnread(StatusException refusal) {
            fail(refusal, () -> service.refusedUnread(tenant, Protocol.GRPC));
        }

        /**
         * A trailers-only answer with the status {@link GrpcErrors} gives {@code failure}, RetryInfo and pushback
         * included.
         *
         * @return whether this was the call's answer: false if it had one already
         */
        private boolean fail(Throwable failure) {
            return fail(failure, null);
        }

        /**
         * {@link #fail(Throwable)}, running {@code counted} (if not null) first when this is the call's answer: a
         * client that has its answer finds it counted, as on the bridge.
         */
        private boolean fail(Throwable failure, Runnable counted) {
            if (!answered.compareAndSet(false, true)) {
                return false;
            }
            stopReadTimer();
            try {
                if (counted != null) {
                    counted.run();
                }
            } finally {
                write(failure);
            }
            return true;
        }

        /** Writes the trailers-only answer for {@code failure}. */
        private void write(Throwable failure) {
            GrpcWire.end(response, failure);
        }

        /**
         * Bytes still arriving after the call was answered early (refused, or the client's key unknown): the
         * stream is reset with NO_ERROR, as gRPC servers do, so the client stops sending what nobody reads.
         */
        private void stopUpload() {
            if (answered.get() && !uploadStopped) {
                uploadStopped = true;
                response.reset(0);
            }
        }

        private StatusException tooLarge(String what) {
            return ModelInferRoute.tooLarge(what, maxMessageBytes);
        }

        /**
         * The stream closed: after an answer nothing to do; before one, the client cancelled. One that cancelled at its
         * deadline (as grpc-java's clients do) while its message waited for a reader is counted as that deadline
         * passing, as its own timer would have counted it; other cancels before the message was read are not counted.
         */
        private void closed() {
            if (answered.compareAndSet(false, true)) {
                if (waitsForReader && InferRequest.cancelledAtDeadline(arrived, deadline, System.nanoTime())) {
                    InferenceException late = new InferenceException.DeadlineExceeded(
                            "the client gave up at its deadline while the request message waited to be read");
                    service.turnedAway(tenant, InferenceService.UNKNOWN_MODEL_TAG, Protocol.GRPC, late);
                }
                stopReadTimer();
                body = null;
                Cancellable c = running;
                if (c != null) {
                    c.cancel();
                }
            }
        }
    }

    /**
     * A request's bytes in one array that doubles as they arrive: each byte is copied about twice at most,
     * however small the DATA frames that bring it (a list of frames would hold ~100 bytes of objects per
     * 1-byte frame), and nothing is allocated ahead for the length a prefix merely declares.
     */
    static final class Received {
        byte[] bytes = new byte[256];
        int length;
        /** The most the array grows to ahead of need: the whole message once its prefix says how long it is. */
        long expected = Integer.MAX_VALUE;

        void append(Buffer chunk) {
            int n = chunk.length();
            if (length + n > bytes.length) {
                long doubled = Math.min(2L * bytes.length, Math.max(expected, 256));
                bytes = java.util.Arrays.copyOf(bytes, (int) Math.max(length + n, doubled));
            }
            chunk.getBytes(0, n, bytes, length);
            length += n;
        }

        /** The length the message prefix declares; the prefix must be in. */
        long declared() {
            return declaredLength(bytes);
        }
    }

    /** The message length in the prefix at the start of {@code bytes}: big-endian, unsigned. */
    private static long declaredLength(byte[] bytes) {
        return ((bytes[1] & 0xFFL) << 24) | ((bytes[2] & 0xFF) << 16) | ((bytes[3] & 0xFF) << 8) | (bytes[4] & 0xFF);
    }

    /** {@link #message(byte[], int, boolean, int)} of an uncompressed call. */
    static ModelInferRequest message(Buffer body) throws InvalidProtocolBufferException {
        return message(body, null, Integer.MAX_VALUE);
    }

    /** {@link #message(byte[], int, boolean, int)} of {@code body}'s bytes. */
    static ModelInferRequest message(Buffer body, String encoding, int maxBytes) throws InvalidProtocolBufferException {
        return message(body.getBytes(), body.length(), encoding, maxBytes);
    }

    /**
     * The one message of a unary call in {@code bytes[0, n)}, its tensors read in place (the array is this
     * call's own), inflated first when the call is {@code gzip} or {@code deflate} and the message says it is compressed. A
     * missing, partial or second message, a prefix flag other than 0 or 1, a compressed one without an encoding,
     * or gzip data that does not inflate is a protocol error (INTERNAL, as grpc-java answers it).
     *
     * @throws MessageTooLarge when the message inflates past {@code maxBytes}, or would take more than that beyond its
     *     bytes once parsed ({@link ParsedRequestSize})
     */
    static ModelInferRequest message(byte[] bytes, int n, String encoding, int maxBytes) throws InvalidProtocolBufferException {
        if (n < GrpcWire.PREFIX) {
            throw new IllegalArgumentException(n == 0 ? "no request message" : "incomplete message prefix");
        }
        if ((bytes[0] & 0xfe) != 0) {
            // the flag's other bits are reserved (grpc-java refuses them, "reserved bits not zero")
            throw new IllegalArgumentException("message prefix flag " + (bytes[0] & 0xff) + " has reserved bits set");
        }
        boolean compressed = bytes[0] != 0;
        if (compressed && encoding == null) {
            throw new IllegalArgumentException("compressed message without a grpc-encoding");
        }
        long size = declaredLength(bytes);
        if (size != n - GrpcWire.PREFIX) {
            throw new IllegalArgumentException(size > n - GrpcWire.PREFIX
                    ? "request message cut short" : "more than one request message in a unary call");
        }
        int at = GrpcWire.PREFIX;
        int length = (int) size;
        if (compressed) {
            bytes = inflate(bytes, at, length, encoding, maxBytes);
            at = 0;
            length = bytes.length;
        }
        return ParsedRequestSize.parse(bytes, at, length, maxBytes);
    }

    /**
     * The {@code encoding} data in {@code bytes[at, at + length)}, inflated; never more than {@code maxBytes} of it
     * held. gRPC's {@code deflate} is zlib's format (RFC 1950), as grpc-core and tritonclient send it.
     */
    private static byte[] inflate(byte[] bytes, int at, int length, String encoding, int maxBytes) {
        // exactly: bytes after the data's end are refused, not dropped (Inflating)
        try (java.io.InputStream in = GZIP.equals(encoding) ? Inflating.gzip(bytes, at, length)
                : Inflating.deflate(bytes, at, length, false)) {
            byte[] inflated = in.readNBytes(maxBytes);
            if (in.read() != -1) {
                throw new MessageTooLarge("decompressed request message larger than");
            }
            return inflated;
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException(encoding + " request message does not inflate: " + e.getMessage());
        }
    }

    /**
     * A compressed message that inflates past the limit, or one that would take more than it beyond its bytes once
     * parsed; the message says which, ahead of the limit.
     */
    static final class MessageTooLarge extends RuntimeException {
        MessageTooLarge(String what) {
            super(what, null, false, false);
        }
    }
}
