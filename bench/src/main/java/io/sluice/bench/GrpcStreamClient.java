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
import java.util.concurrent.atomic.AtomicReference;

/**
 * Triton's {@code ModelStreamInfer} as {@code perf_analyzer --streaming} drives it: each worker keeps one
 * bidirectional stream open on the shared grpc-java channel and sends its next request when the answer
 * to the last is in, so concurrency N is N streams with one request each in flight. An answer is read
 * off the wire for its {@code error_message} only (the 196 KB {@code infer_response} of a MiniLM answer
 * is skipped, not decoded), as {@link GrpcClient} reads a unary answer; {@link #inferDecoded} decodes in
 * full. A failed request is answered in the stream without a status code ({@link #statusOf}); a stream
 * that ends is opened again by the next call.
 */
final class GrpcStreamClient implements InferClient {

    /** An answer as the measured loops read it: its {@code error_message}, empty when it succeeded. */
    static final MethodDescriptor<ModelInferRequest, String> STREAM_ERRORS = method(new ErrorMessageOnly());
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
    static final class ErrorMessageOnly implements MethodDescriptor.Marshaller<String> {
        /** Field 1, length-delimited: (1 << 3) | 2. */
        private static final int ERROR_MESSAGE_TAG = (ModelStreamInferResponse.ERROR_MESSAGE_FIELD_NUMBER << 3)
                | WireFormat.WIRETYPE_LENGTH_DELIMITED;

        @Override
        public InputStream stream(String value) {
            throw new UnsupportedOperationException("answers only");
        }

        @Override
        public String parse(InputStream stream) {
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
                return error;
            } catch (IOException e) {
                throw io.grpc.Status.INTERNAL.withDescription("answer not read").withCause(e).asRuntimeException();
            }
        }
    }

    /** What one stream delivers: an answer's error message (empty: success), or the stream's end. */
    private record Event(String error, Throwable end) {}

    private final Channel channel;
    private final ModelInferRequest request;
    private final List<Tensor> inputs;
    private final long timeoutNanos;
    private BlockingQueue<Event> events;
    private StreamObserver<ModelInferRequest> requests;

    GrpcStreamClient(Channel channel, GrpcClient unary, List<Tensor> inputs, long timeoutNanos) {
        this.channel = channel;
        this.request = unary.request();
        this.inputs = inputs;
        this.timeoutNanos = timeoutNanos;
    }

    @Override
    public int infer() {
        if (requests == null) {
            events = new LinkedBlockingQueue<>();
            requests = open(channel, events);
        }
        requests.onNext(!GrpcClient.UNIQUE_REQUESTS ? request : GrpcClient.withNonce(request));
        Event event;
        try {
            event = events.poll(timeoutNanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            event = null;
        }
        if (event == null || event.end() != null) { // no answer in time, or the stream ended: a new one next time
            close();
            return event == null ? Status.TIMEOUT : Status.IO_ERROR;
        }
        return statusOf(event.error());
    }

    /** Opens a stream whose answers' error messages (and its end) go to {@code events}. */
    private static StreamObserver<ModelInferRequest> open(Channel channel, BlockingQueue<Event> events) {
        return ClientCalls.asyncBidiStreamingCall(channel.newCall(STREAM_ERRORS, CallOptions.DEFAULT),
                new StreamObserver<String>() {
                    @Override
                    public void onNext(String error) {
                        events.add(new Event(error, null));
                    }

                    @Override
                    public void onError(Throwable t) {
                        events.add(new Event("", t));
                    }

                    @Override
                    public void onCompleted() {
                        events.add(new Event("", new IllegalStateException("the stream ended")));
                    }
                });
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

    @Override
    public Response inferDecoded() {
        BlockingQueue<Event> answers = new LinkedBlockingQueue<>();
        AtomicReference<ModelStreamInferResponse> full = new AtomicReference<>();
        StreamObserver<ModelInferRequest> stream = ClientCalls.asyncBidiStreamingCall(
                channel.newCall(STREAM, CallOptions.DEFAULT.withDeadlineAfter(timeoutNanos, TimeUnit.NANOSECONDS)),
                new StreamObserver<ModelStreamInferResponse>() {
                    @Override
                    public void onNext(ModelStreamInferResponse answer) {
                        full.set(answer);
                        answers.add(new Event(answer.getErrorMessage(), null));
                    }

                    @Override
                    public void onError(Throwable t) {
                        answers.add(new Event("", t));
                    }

                    @Override
                    public void onCompleted() {
                        answers.add(new Event("", new IllegalStateException("the stream ended unanswered")));
                    }
                });
        stream.onNext(request);
        stream.onCompleted();
        Event event;
        try {
            event = answers.poll(timeoutNanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Response.failed(Status.TIMEOUT, "interrupted");
        }
        if (event == null) {
            return Response.failed(Status.TIMEOUT, "no answer on the stream in time");
        } else if (event.end() != null) {
            return Response.failed(Status.IO_ERROR, "the stream ended: " + event.end());
        } else if (!event.error().isEmpty()) {
            return Response.failed(statusOf(event.error()), "in-stream error: " + event.error());
        }
        ModelInferResponse response = full.get().getInferResponse();
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
