package io.sluice.api.grpc;

import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.sluice.admission.Tenant;
import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.api.grpc.proto.ModelInferResponse;
import io.sluice.api.grpc.proto.ModelStreamInferResponse;
import io.sluice.api.grpc.proto.InferParameter;
import io.sluice.inference.InferRequest;
import io.sluice.inference.InferResponse;
import io.sluice.inference.InferenceService;
import io.sluice.inference.Protocol;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.Cancellable;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

/**
 * Triton's {@code ModelStreamInfer}: each request on the stream runs as a {@code ModelInfer} call would
 * (the tenant's rate limit, the model's admission, its queue and batches, the same counters). Every
 * request starts as it arrives, so a stream's requests share batches, and the answers go out in the order
 * of the requests, as Triton sends them for a model that is not decoupled ({@link StreamAnswers}). Each
 * answer carries {@code triton_final_response: true}, as Triton marks the one response of such a model.
 * The stream's deadline, if it has one, is every request's, and a request's {@code timeout} parameter may
 * shorten it; once it passes, the stream ends with DEADLINE_EXCEEDED, as a gRPC call past its deadline does.
 *
 * <p>As in Triton, a failed request is answered in the stream, with {@code error_message} and an {@code
 * infer_response} that carries only the request's id, model name and version, and the stream goes on. A
 * rejection the client should retry says when in the message, since a message cannot carry RetryInfo.
 * With the {@code triton_grpc_error: true} header ({@link StreamErrorMode}) the first failure, in its
 * turn, ends the stream instead, with the status (and RetryInfo) a {@code ModelInfer} call would get.
 * A cancelled stream cancels its requests, which leave their queues. When the server's shutdown delay is over
 * ({@link OpenStreams}), a stream answers what it has taken and ends with UNAVAILABLE. A stream is read at
 * most a window of requests ahead of its answers ({@link StreamFlowControl}); HTTP/2 flow control holds back the rest.
 */
final class StreamInfer {

    /** The response parameter Triton sets on a stream's responses; true on a request's last (here its only) one. */
    static final String FINAL_RESPONSE = "triton_final_response";
    private static final InferParameter TRUE = InferParameter.newBuilder().setBoolParam(true).build();

    private StreamInfer() {}

    /**
     * A message of the stream that could not be read: the failure that ends the stream once the requests before it
     * are answered, and what counts it.
     */
    record Refusal(Throwable failure, Runnable counted) {}

    /**
     * Serves {@code requests}, one stream's on the bridge; reads the call's tenant, deadline and header now. A request
     * that is a stand-in for a refused message ({@link InferRequestMarshaller#refusal}) is counted as the client's
     * mistake, under the unknown model.
     */
    static Multi<ModelStreamInferResponse> serve(InferenceService service, OpenStreams open,
            Multi<ModelInferRequest> requests) {
        Tenant tenant = GrpcAuthentication.tenant();
        return serve(service, open, tenant, CallDeadline.current(), StreamErrorMode.failureEndsStream(), requests,
                request -> {
                    StatusRuntimeException refusal = InferRequestMarshaller.refusal(request);
                    return refusal == null ? null
                            : new Refusal(refusal, () -> service.refusedUnread(tenant, Protocol.GRPC));
                });
    }

    /**
     * Serves {@code requests}, one stream's, for {@code tenant}, with the call's {@code deadline} and {@code
     * triton_grpc_error} header. A request for which {@code refusals} gives a refusal stands in for a message that
     * could not be read: the stream ends with it once the requests before it are answered.
     */
    static Multi<ModelStreamInferResponse> serve(InferenceService service, OpenStreams open, Tenant tenant,
            long deadline, boolean failureEndsStream, Multi<ModelInferRequest> requests,
            Function<ModelInferRequest, Refusal> refusals) {
        // the in-stream answer is built inside the request's count: a failure building it is that request's answer
        Function<ModelInferRequest, Uni<ModelStreamInferResponse>> run = request -> Uni.createFrom().deferred(() ->
                service.infer(tenant, request.getModelName(), GrpcTensors.version(request), Protocol.GRPC,
                        () -> GrpcTensors.request(request, deadline),
                        r -> GrpcInferenceService.written(() -> answer(r))));
        return Multi.createFrom().emitter(emitter -> {
            StreamAnswers answers = new StreamAnswers(emitter, failureEndsStream,
                    (request, refusal) -> service.turnedAway(tenant, request.getModelName(), Protocol.GRPC, refusal));
            AtomicReference<Cancellable> reading = new AtomicReference<>();
            // neither the bridge nor ModelStreamRoute ends a call at its deadline by itself: a stream whose next message
            // never comes would stay open for good
            Cancellable deadlineTimer = deadline == InferRequest.NO_DEADLINE ? null
                    : Uni.createFrom().voidItem().onItem().delayIt()
                            .by(InferRequest.timerDelay(deadline - System.nanoTime())) // at least 1 ms: a timer's least
                            .subscribe().with(v -> answers.deadlinePassed());
            // Quarkus cancels the answers when the client cancels the call, which ends the emitter
            emitter.onTermination(() -> {
                if (deadlineTimer != null) {
                    deadlineTimer.cancel();
                }
                open.ended(answers);
                answers.cancel();
                Cancellable r = reading.get();
                if (r != null) {
                    r.cancel();
                }
            });
            reading.set(requests.subscribe().with(request -> {
                Refusal refusal = refusals.apply(request);
                if (refusal == null) {
                    answers.add(request, run);
                } else {
                    answers.refused(refusal.failure(), refusal.counted());
                }
            }, answers::failed, answers::noMoreRequests));
            open.opened(answers); // after reading is set: a stream ended here at once cancels its reading too
            if (answers.over()) {
                open.ended(answers); // ended before it was registered
            }
        });
    }

    /** The in-stream answer to a request that was answered. */
    static ModelStreamInferResponse answer(InferResponse response) {
        Map<String, InferParameter> parameters = new HashMap<>(GrpcInferenceService.parameters(response));
        parameters.put(FINAL_RESPONSE, TRUE);
        return ModelStreamInferResponse.newBuilder()
                .setInferResponse(GrpcTensors.response(response, parameters, true)).build();
    }

    /** The in-stream answer to a failed request. */
    static ModelStreamInferResponse failed(String id, String model, String version, Throwable failure) {
        return ModelStreamInferResponse.newBuilder()
                .setErrorMessage(message(failure))
                .setInferResponse(ModelInferResponse.newBuilder().setId(id).setModelName(model).setModelVersion(version)
                        .putParameters(FINAL_RESPONSE, TRUE))
                .build();
    }

    /** The status description {@code ModelInfer} would give, and for a retryable rejection when to retry. */
    static String message(Throwable failure) {
        StatusException status = GrpcErrors.toStatus(failure);
        String description = status.getStatus().getDescription();
        String message = description == null ? status.getStatus().getCode().name() : description;
        Duration retry = GrpcErrors.retryAfter(failure);
        // rounded up, as the pushback is: a client that comes back after a rounded-down wait is refused again
        return retry == null ? message : message + " (retry after " + GrpcErrors.pushbackMillis(retry) + " ms)";
    }
}
