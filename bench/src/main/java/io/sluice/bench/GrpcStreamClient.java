package io.sluice.bench;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.MethodDescriptor;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.api.grpc.proto.ModelInferResponse;
import io.sluice.api.grpc.proto.ModelStreamInferResponse;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Triton's {@code ModelStreamInfer}, the load a streaming client such as {@code perf_analyzer --streaming}
 * makes: each worker keeps one bidirectional stream open on the shared grpc-java channel and sends its next
 * request when the answer to the last is in, so concurrency N is N streams with one request each in
 * flight. An answer is read
 * off the wire for its {@code error_message} only (the 196 KB {@code infer_response} of a MiniLM answer
 * is skipped, not decoded), as {@link GrpcClient} reads a unary answer; {@link #inferDecoded} decodes in
 * full. A failed request is answered in the stream without a status code ({@link #statusOf}); a stream
 * that ends is opened again by the next call.
 */
final class GrpcStreamClient implements InferClient {

    /** An answer as the measured loops read it: its {@code error_message}, empty when it succeeded, and its size. */
    static final MethodDescriptor<ModelInferRequest, Answer> STREAM_ERRORS = method(new ErrorMessageOnly());

    /** A {@code ModelStreamInferResponse} read for its {@code error_message} only, and the bytes it took. */
    record Answer(String error, long bytes) {}
    static final MethodDescriptor<ModelInferRequest, ModelStreamInferResponse> STREAM =
            method(ProtoUtils.marshaller(ModelStreamInferResponse.getDefaultInstance()));

    private static <R> MethodDescriptor<ModelInferRequest, R> method(MethodDescriptor.Marshaller<R> answers) {
        return MethodDescriptor.<ModelInferRequest, R>newBuilder()
                .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
                .setFullMethodName(MethodDescriptor.generateFullMethodName("inference.GRPCInferenceService",
                        "ModelStreamInfer"))
                .setRequestMarshaller(ProtoUtils.marshaller(ModelInferRequest.getDefaultInstance()))
                .setResponseMarshaller(answers)
                .build();
    }

    /** Reads field 1 ({@code error_message}) of a {@code ModelStreamInferResponse} and skips the rest. */
    static final class ErrorMessageOnly implements MethodDescriptor.Marshaller<Answer> {
        /** Field 1, length-delimited: (1 << 3) | 2. */
        private static final int ERROR_MESSAGE_TAG = (ModelStreamInferResponse.ERROR_MESSAGE_FIELD_NUMBER << 3)
                | WireFormat.WIRETYPE_LENGTH_DELIMITED;

        @Override
        public InputStream stream(Answer value) {
            throw new UnsupportedOperationException("answers only");
        }

        @Override
        public Answer parse(InputStream stream) {
            try (stream) {
                CodedInputStream in = CodedInputStream.newInstance(stream);
                String error = "";
                for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
                    if (tag == ERROR_MESSAGE_TAG) {
                        error = in.readStringRequireUtf8();
                    } else {
                        in.skipField(tag);
                    }
                }
                return new Answer(error, in.getTotalBytesRead());
            } catch (IOException e) {
                throw io.grpc.Status.INTERNAL.withDescription("answer not read").withCause(e).asRuntimeException();
            }
        }
    }

    /** What a stream delivers: an answer, or (with no answer) its end. */
    private record Event<R>(R answer, Throwable end) {}

    private final Channel channel;
    private final ModelInferRequest request;
    private final List<Tensor> inputs;
    private final long timeoutNanos;
    private final GrpcClient unary;
    private BlockingQueue<Event<Answer>> events;
    private StreamObserver<ModelInferRequest> requests;

    GrpcStreamClient(Channel channel, GrpcClient unary, List<Tensor> inputs, long timeoutNanos) {
        this.channel = channel;
        this.unary = unary;
        this.request = unary.request();
        this.inputs = inputs;
        this.timeoutNanos = timeoutNanos;
    }

    @Override
    public int infer() {
        if (requests == null) {
            events = new LinkedBlockingQueue<>();
            requests = open(channel, STREAM_ERRORS, CallOptions.DEFAULT, events);
        }
        requests.onNext(!GrpcClient.UNIQUE_REQUESTS ? request : GrpcClient.withNonce(request));
        Event<Answer> event = next(events);
        if (event == null || event.end() != null) { // no answer in time, or the stream ended: a new one next time
            close();
            return event == null ? Status.TIMEOUT : Status.IO_ERROR;
        }
        int status = statusOf(event.answer().error());
        return status == Status.OK ? unary.okIfWhole(event.answer().bytes()) : status;
    }

    /** Opens a stream of {@code method} whose answers (and its end) go to {@code events}. */
    private static <R> StreamObserver<ModelInferRequest> open(Channel channel, MethodDescriptor<ModelInferRequest, R> method,
            CallOptions options, BlockingQueue<Event<R>> events) {
        return ClientCalls.asyncBidiStreamingCall(channel.newCall(method, options), new StreamObserver<R>() {
            @Override
            public void onNext(R answer) {
                events.add(new Event<>(answer, null));
            }

            @Override
            public void onError(Throwable t) {
                events.add(new Event<>(null, t));
            }

            @Override
            public void onCompleted() {
                events.add(new Event<>(null, new IllegalStateException("the stream ended")));
            }
        });
    }

    /** The next event within the timeout; null if none came (or the thread was interrupted). */
    private <R> Event<R> next(BlockingQueue<Event<R>> queue) {
        try {
            return queue.poll(timeoutNanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /**
     * The code of an answer that carries {@code error}: none for success, else what the in-stream message
     * says, which has no status code: a rejection to retry ends with "(retry after N ms)" and counts as
     * UNAVAILABLE, any other failure as UNKNOWN.
     */
    static int statusOf(String error) {
        if (error.isEmpty()) {
            return Status.OK;
        }
        return error.contains("(retry after ") ? Status.GRPC_UNAVAILABLE
                : Status.ofGrpc(io.grpc.Status.Code.UNKNOWN);
    }

    /** One request on a stream of its own, its answer decoded in full. */
    @Override
    public Response inferDecoded() {
        BlockingQueue<Event<ModelStreamInferResponse>> answers = new LinkedBlockingQueue<>();
        StreamObserver<ModelInferRequest> stream = open(channel, STREAM,
                CallOptions.DEFAULT.withDeadlineAfter(timeoutNanos, TimeUnit.NANOSECONDS), answers);
        stream.onNext(request);
        stream.onCompleted();
        Event<ModelStreamInferResponse> event = next(answers);
        if (event == null) {
            return Response.failed(Status.TIMEOUT, "no answer on the stream in time");
        } else if (event.end() != null) {
            return Response.failed(Status.IO_ERROR, "the stream ended unanswered: " + event.end());
        }
        String error = event.answer().getErrorMessage();
        if (!error.isEmpty()) {
            return Response.failed(statusOf(error), "in-stream error: " + error);
        }
        ModelInferResponse response = event.answer().getInferResponse();
        List<Tensor> outputs = new ArrayList<>();
        for (int i = 0; i < response.getOutputsCount(); i++) {
            ModelInferResponse.InferOutputTensor o = response.getOutputs(i);
            long[] shape = o.getShapeList().stream().mapToLong(Long::longValue).toArray();
            outputs.add(new Tensor(o.getName(), o.getDatatype(), shape, response.getRawOutputContents(i).toByteArray()));
        }
        return new Response(Status.OK, outputs, null);
    }

    @Override
    public List<Tensor> inputs() {
        return inputs;
    }

    /** Half-closes the stream; the next {@link #infer} opens a new one. */
    @Override
    public void close() {
        if (requests != null) {
            try {
                requests.onCompleted();
            } catch (RuntimeException alreadyOver) {
                // the stream had ended
            }
            requests = null;
        }
    }
}
