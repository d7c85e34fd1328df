package io.sluice;

import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.MetadataUtils;
import io.sluice.api.grpc.proto.GRPCInferenceServiceGrpc;
import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.api.grpc.proto.ModelStreamInferResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One {@code ModelStreamInfer} stream, driven step by step as a Triton client's {@code start_stream} and
 * {@code async_stream_infer} would: send requests, wait for answers, half-close or cancel, and see how
 * the stream ended.
 */
public final class GrpcStream implements ClientResponseObserver<ModelInferRequest, ModelStreamInferResponse> {

    private final List<ModelStreamInferResponse> answers = new ArrayList<>();
    private final CompletableFuture<Status> end = new CompletableFuture<>();
    private volatile ClientCallStreamObserver<ModelInferRequest> requests;
    private volatile StatusRuntimeException failure;
    /** Whether the client takes answers only when {@link #take} says, as one that stops reading would. */
    private final boolean held;

    private GrpcStream(boolean held) {
        this.held = held;
    }

    /** Opens a stream on {@code channel}; {@code tritonGrpcError} sends {@code triton_grpc_error: true}. */
    public static GrpcStream open(ManagedChannel channel, boolean tritonGrpcError) {
        return open(channel, tritonGrpcError, false, null);
    }

    /** Opens a stream on {@code channel} whose client sends every message gzipped. */
    public static GrpcStream openGzip(ManagedChannel channel) {
        return open(channel, false, false, "gzip");
    }

    /**
     * Opens a stream whose client takes no answer until {@link #take} asks for some: its transport then
     * grants the server no more room to send once its HTTP/2 window is full.
     */
    public static GrpcStream openNotReading(ManagedChannel channel) {
        return open(channel, false, true, null);
    }

    private static GrpcStream open(ManagedChannel channel, boolean tritonGrpcError, boolean held, String compression) {
        Metadata headers = new Metadata();
        if (tritonGrpcError) {
            headers.put(Metadata.Key.of("triton_grpc_error", Metadata.ASCII_STRING_MARSHALLER), "true");
        }
        GrpcStream stream = new GrpcStream(held);
        var stub = GRPCInferenceServiceGrpc.newStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                .withDeadlineAfter(150, TimeUnit.SECONDS);
        (compression == null ? stub : stub.withCompression(compression)).modelStreamInfer(stream);
        return stream;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<ModelInferRequest> requestStream) {
        this.requests = requestStream;
        if (held) {
            requestStream.disableAutoRequestWithInitial(0);
        }
    }

    /** Lets the client take {@code n} more answers (a stream opened with {@link #openNotReading}). */
    public GrpcStream take(int n) {
        requests.request(n);
        return this;
    }

    public GrpcStream send(ModelInferRequest request) {
        requests.onNext(request);
        return this;
    }

    /** Says no more requests come; the server ends the stream once it has answered them all. */
    public GrpcStream halfClose() {
        requests.onCompleted();
        return this;
    }

    public void cancel() {
        requests.cancel("cancelled by the test", null);
    }

    /** Waits until {@code n} answers came, and returns them in the order they came; fails if the stream ended first. */
    public List<ModelStreamInferResponse> awaitAnswers(int n) {
        await().atMost(Duration.ofSeconds(120)).until(() -> answers().size() >= n || end.isDone());
        List<ModelStreamInferResponse> answers = answers();
        if (answers.size() < n) {
            throw new AssertionError("the stream ended (" + end.join() + ") after " + answers.size() + " of " + n + " answers");
        }
        return answers;
    }

    /** Waits for the end of the stream: OK, or the status it was ended with. */
    public Status awaitEnd() {
        return end.orTimeout(120, TimeUnit.SECONDS).join();
    }

    /** The status the stream ended with, as the client saw it (with its trailers). */
    public StatusRuntimeException failure() {
        return failure;
    }

    public synchronized List<ModelStreamInferResponse> answers() {
        return List.copyOf(answers);
    }

    @Override
    public synchronized void onNext(ModelStreamInferResponse answer) {
        answers.add(answer);
    }

    @Override
    public void onError(Throwable t) {
        failure = t instanceof StatusRuntimeException s ? s : Status.fromThrowable(t).asRuntimeException();
        end.complete(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
        end.complete(Status.OK);
    }
}
