package io.sluice.api.grpc;

import io.grpc.StatusException;
import io.sluice.admission.Tenant;
import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.api.grpc.proto.ModelInferResponse;
import io.sluice.api.grpc.proto.ModelStreamInferResponse;
import io.sluice.inference.InferenceException;
import io.sluice.inference.InferenceService;
import io.sluice.inference.Protocol;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.Cancellable;
import java.time.Duration;

/**
 * Triton's {@code ModelStreamInfer}: each request on the stream runs as a {@code ModelInfer} call would
 * (the tenant's rate limit, the model's admission, its queue and batches, the same counters), and is
 * answered on the stream as it completes, so answers may come in another order than their requests;
 * clients match them by {@code id}. The stream's deadline, if it has one, is every request's, and a
 * request's {@code timeout} parameter may shorten it.
 *
 * <p>As in Triton, a failed request is answered in the stream, with {@code error_message} and an {@code
 * infer_response} that carries only the request's id, model name and version, and the stream goes on. A
 * rejection the client should retry says when in the message, since a message cannot carry RetryInfo.
 * With the {@code triton_grpc_error: true} header ({@link StreamErrorMode}) the first failure ends the
 * stream instead, with the status and RetryInfo a {@code ModelInfer} call would get.
 *
 * <p>At most {@link #IN_FLIGHT} requests of one stream are taken up at once; the rest wait in the stream
 * until one is answered. A cancelled stream cancels its requests, which leave their queues.
 */
final class StreamInfer {

    /** Requests of one stream being served at once. */
    static final int IN_FLIGHT = 256;

    private StreamInfer() {}

    /** Serves {@code requests}, one stream's; reads the call's tenant, deadline and cancellation now. */
    static Multi<ModelStreamInferResponse> serve(InferenceService service, Multi<ModelInferRequest> requests) {
        Tenant tenant = GrpcAuthentication.tenant();
        CallCancellation.Hook cancellation = CallCancellation.current();
        long deadline = CallDeadline.current();
        boolean failureEndsStream = StreamErrorMode.failureEndsStream();
        Multi<ModelStreamInferResponse> answers = requests.onItem()
                .transformToUni(r -> answer(service, tenant, deadline, failureEndsStream, r))
                .merge(IN_FLIGHT);
        return Multi.createFrom().emitter(emitter -> {
            Cancellable subscription = answers.subscribe().with(emitter::emit, emitter::fail, emitter::complete);
            emitter.onTermination(subscription::cancel);
            cancellation.onCancel(subscription::cancel);
        });
    }

    private static Uni<ModelStreamInferResponse> answer(InferenceService service, Tenant tenant, long deadline,
            boolean failureEndsStream, ModelInferRequest request) {
        Uni<ModelStreamInferResponse> answered = Uni.createFrom().deferred(() -> service.infer(tenant,
                        request.getModelName(), GrpcTensors.version(request), Protocol.GRPC,
                        () -> GrpcTensors.request(request, deadline)))
                .map(r -> ModelStreamInferResponse.newBuilder().setInferResponse(GrpcInferenceService.response(r)).build());
        return failureEndsStream
                ? answered.onFailure().transform(GrpcErrors::toStatus)
                : answered.onFailure().recoverWithItem(failure -> failed(request, failure));
    }

    /** The in-stream answer to a failed request. */
    static ModelStreamInferResponse failed(ModelInferRequest request, Throwable failure) {
        return ModelStreamInferResponse.newBuilder()
                .setErrorMessage(message(failure))
                .setInferResponse(ModelInferResponse.newBuilder().setId(request.getId())
                        .setModelName(request.getModelName()).setModelVersion(request.getModelVersion()))
                .build();
    }

    /** The status description {@code ModelInfer} would give, and for a retryable rejection when to retry. */
    static String message(Throwable failure) {
        StatusException status = GrpcErrors.toStatus(failure);
        String description = status.getStatus().getDescription();
        String message = description == null ? status.getStatus().getCode().name() : description;
        Duration retry = failure instanceof InferenceException.Unavailable u ? u.retryAfter()
                : failure instanceof InferenceException.RateLimited r ? r.state().retryAfter() : null;
        return retry == null ? message : message + " (retry after " + retry.toMillis() + " ms)";
    }
}
