package io.sluice.api.grpc;

import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.api.grpc.proto.ModelStreamInferResponse;
import io.sluice.inference.InferenceException;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.Cancellable;
import io.smallrye.mutiny.subscription.MultiEmitter;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * One {@code ModelStreamInfer} stream's answers, sent in the order of its requests, as Triton sends them
 * for a model that is not decoupled: each request starts as it arrives (so a stream's requests share
 * batches), and an answer that is ready waits for those before it. How many requests it holds is bounded
 * before they reach it, by {@link StreamFlowControl}'s window. With {@code failureEndsStream}, the first
 * failure, in its turn, ends the stream with its status and cancels the requests after it. {@link #close}
 * ends it at shutdown, once what it took is answered; {@link #refused} ends it with a message's refusal, once the
 * requests before that message are answered.
 *
 * <p>Thread-safe: requests arrive on the call's thread, answers complete on any.
 */
final class StreamAnswers {

    /** One request's place in the stream: what it needs for an answer, and the answer once it has one. */
    private static final class Slot {
        final String id;
        final String model;
        final String version;
        Cancellable running;
        ModelStreamInferResponse answer;
        Throwable failure;

        Slot(ModelInferRequest request) {
            this.id = request.getId();
            this.model = request.getModelName();
            this.version = request.getModelVersion();
        }

        boolean done() {
            return answer != null || failure != null;
        }
    }

    private final MultiEmitter<? super ModelStreamInferResponse> emitter;
    private final boolean failureEndsStream;
    private final BiConsumer<ModelInferRequest, InferenceException> turnedAway;
    private final ArrayDeque<Slot> slots = new ArrayDeque<>();
    private boolean noMoreRequests;
    private boolean closing;
    private boolean ended;
    /** A message of the stream that could not be read: the stream ends with it once the requests before it are answered. */
    private Throwable refusal;

    /** {@code turnedAway} counts a request told to go elsewhere because the stream is closing. */
    StreamAnswers(MultiEmitter<? super ModelStreamInferResponse> emitter, boolean failureEndsStream,
            BiConsumer<ModelInferRequest, InferenceException> turnedAway) {
        this.emitter = emitter;
        this.failureEndsStream = failureEndsStream;
        this.turnedAway = turnedAway;
    }

    /**
     * Takes up {@code request} and runs it ({@code run} gives its in-stream answer); once the stream is closing,
     * answers it in its turn to go elsewhere.
     */
    void add(ModelInferRequest request, Function<ModelInferRequest, Uni<ModelStreamInferResponse>> run) {
        Slot slot = new Slot(request);
        InferenceException refusal;
        synchronized (this) {
            if (ended || this.refusal != null) { // nothing after a refused message is taken
                return;
            }
            slots.add(slot);
            if (!closing) {
                refusal = null;
            } else {
                refusal = shuttingDown();
                slot.failure = refusal;
                drain();
            }
        }
        if (refusal != null) {
            turnedAway.accept(request, refusal);
            return;
        }
        Cancellable running;
        try {
            running = run.apply(request).subscribe().with(
                    r -> answered(slot, r, null), failure -> answered(slot, null, failure));
        } catch (RuntimeException | Error e) {
            // thrown as it started rather than failed (a timer Vert.x refused did): answered in its turn all the same,
            // since an unanswered slot would hold back every answer after it, and the stream's end, for good
            answered(slot, null, e);
            return;
        }
        synchronized (this) {
            slot.running = running;
            if (ended && !slot.done()) {
                running.cancel();
            }
        }
    }

    /** The client half-closed: the stream ends once every request is answered. */
    synchronized void noMoreRequests() {
        noMoreRequests = true;
        drain();
    }

    /**
     * A message of the stream was refused before it could be read ({@link InferRequestMarshaller}): the requests
     * before it are answered, then the stream ends with {@code refusal}; nothing after it is taken. {@code counted}
     * runs, before the stream can end, only for the first refusal taken before the end: not after an earlier
     * refusal or once the stream has ended, when the message is dropped unanswered like any other after the end.
     * (A request before it that fails may still end the stream with its own status, or the client cancel it.)
     */
    synchronized void refused(Throwable refusal, Runnable counted) {
        if (ended || this.refusal != null) {
            return;
        }
        this.refusal = refusal;
        counted.run();
        drain();
    }

    /**
     * The call's deadline passed: it ends now with DEADLINE_EXCEEDED, as a gRPC call past its deadline does, whatever
     * is still running or unanswered (every request on it had that deadline too) and whether or not the client is
     * still sending; nothing after it is taken.
     */
    synchronized void deadlinePassed() {
        if (!ended) {
            failed(io.grpc.Status.DEADLINE_EXCEEDED.withDescription("the stream's deadline (grpc-timeout) passed")
                    .asRuntimeException());
        }
    }

    /** The request stream failed (the transport). */
    synchronized void failed(Throwable failure) {
        end();
        emitter.fail(failure);
    }

    /**
     * The server is shutting down: the requests taken are answered, those that come later are told to go
     * elsewhere, and the stream ends with UNAVAILABLE once nothing is left unanswered (or OK, if its client
     * had already said it sends no more).
     */
    synchronized void close() {
        closing = true;
        drain();
    }

    /** Whether the stream has ended, or was cancelled. */
    synchronized boolean over() {
        return ended;
    }

    /** The call is over (cancelled by the client, or ended): cancels whatever still runs. */
    synchronized void cancel() {
        end();
    }

    private synchronized void answered(Slot slot, ModelStreamInferResponse answer, Throwable failure) {
        if (failure != null) {
            slot.failure = failure;
        } else {
            slot.answer = answer;
        }
        drain();
    }

    /** Sends every answer that is ready and has none unsent before it; ends the stream when all are sent. */
    private void drain() {
        while (!ended && !slots.isEmpty() && slots.peek().done()) {
            Slot slot = slots.poll();
            if (slot.failure != null && failureEndsStream) {
                end();
                emitter.fail(GrpcErrors.toStatus(slot.failure));
                return;
            }
            emitter.emit(slot.failure != null
                    ? StreamInfer.failed(slot.id, slot.model, slot.version, slot.failure) : slot.answer);
        }
        // a refusal before the end of the requests: a client that half-closed right after the refused message
        // must still hear of it, not an OK
        if (!ended && slots.isEmpty() && refusal != null) {
            ended = true;
            emitter.fail(GrpcErrors.toStatus(refusal));
        } else if (!ended && slots.isEmpty() && noMoreRequests) {
            ended = true;
            emitter.complete();
        } else if (!ended && slots.isEmpty() && closing) {
            ended = true;
            emitter.fail(GrpcErrors.toStatus(shuttingDown()));
        }
    }

    private void end() {
        ended = true;
        for (Slot slot : slots) {
            if (slot.running != null && !slot.done()) {
                slot.running.cancel();
            }
        }
        slots.clear();
    }

    /** UNAVAILABLE with a retry at once (RetryInfo of 0 s, or "retry after 0 ms" in the stream). */
    private static InferenceException.Unavailable shuttingDown() {
        return new InferenceException.Unavailable(InferenceException.Unavailable.Reason.NOT_READY,
                "the server is shutting down: send this stream's requests on a new stream", Duration.ZERO);
    }
}
