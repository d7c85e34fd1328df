package io.sluice.bench;

import com.google.protobuf.ByteString;
import com.google.rpc.RetryInfo;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.MethodDescriptor;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.ClientCalls;
import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.api.grpc.proto.ModelInferResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * gRPC {@code ModelInfer} with {@code raw_input_contents}, blocking, on a channel shared with other
 * workers. The method is declared here rather than taken from a generated stub (the messages are
 * generated from the server's proto; see pom.xml); a generated stub would call exactly this.
 */
final class GrpcClient implements InferClient {
    static final MethodDescriptor<ModelInferRequest, ModelInferResponse> MODEL_INFER =
            MethodDescriptor.<ModelInferRequest, ModelInferResponse>newBuilder()
                    .setType(MethodDescriptor.MethodType.UNARY)
                    .setFullMethodName(MethodDescriptor.generateFullMethodName(
                            "inference.GRPCInferenceService", "ModelInfer"))
                    .setRequestMarshaller(ProtoUtils.marshaller(ModelInferRequest.getDefaultInstance()))
                    .setResponseMarshaller(ProtoUtils.marshaller(ModelInferResponse.getDefaultInstance()))
                    .build();

    /**
     * The same call for the measured loops, whose answer is read off the wire but not decoded into a
     * message (the number of bytes comes back), as the REST clients read a body without parsing it: only
     * the status counts there, and decoding 196 KB of MiniLM output into a message would take CPU from
     * the server on a machine both share. {@link #inferDecoded()} decodes in full.
     */
    static final MethodDescriptor<ModelInferRequest, Long> MODEL_INFER_UNDECODED =
            MODEL_INFER.toBuilder(MODEL_INFER.getRequestMarshaller(), new Undecoded()).build();

    /** Reads a message to its end without decoding it; its value is the number of bytes read. */
    static final class Undecoded implements MethodDescriptor.Marshaller<Long> {
        @Override
        public java.io.InputStream stream(Long value) {
            throw new UnsupportedOperationException("responses only");
        }

        @Override
        public Long parse(java.io.InputStream stream) {
            try (stream) {
                long read = 0;
                long skipped;
                while ((skipped = stream.skip(Long.MAX_VALUE)) > 0) {
                    read += skipped;
                }
                while (stream.read() != -1) {
                    read++;
                }
                return read;
            } catch (java.io.IOException e) {
                throw io.grpc.Status.INTERNAL.withDescription("response not read").withCause(e).asRuntimeException();
            }
        }
    }

    private final Channel channel;
    private final ModelInferRequest request;
    private final List<Tensor> inputs;
    private final long timeoutNanos;
    private final long minAnswerBytes;
    private boolean retryHint;
    private long retryAfterNanos;

    GrpcClient(Channel channel, String model, List<Tensor> inputs, long timeoutNanos) {
        this(channel, model, inputs, timeoutNanos, 0);
    }

    /**
     * {@code minAnswerBytes}: what an OK answer's message must at least hold (the outputs' raw bytes), else it is
     * no success, as the REST clients and the lean client check every answer.
     */
    GrpcClient(Channel channel, String model, List<Tensor> inputs, long timeoutNanos, long minAnswerBytes) {
        this.channel = channel;
        this.inputs = inputs;
        this.timeoutNanos = timeoutNanos;
        this.minAnswerBytes = minAnswerBytes;
        ModelInferRequest.Builder b = ModelInferRequest.newBuilder().setModelName(model);
        for (Tensor t : inputs) {
            ModelInferRequest.InferInputTensor.Builder input = b.addInputsBuilder()
                    .setName(t.name()).setDatatype(t.datatype());
            for (long d : t.shape()) {
                input.addShape(d);
            }
            b.addRawInputContents(ByteString.copyFrom(t.raw()));
        }
        this.request = b.build();
    }

    /**
     * With {@code -Dbench.unique-requests=true} every call carries its own {@code nonce} request
     * parameter: the tensors stay the same, but no two requests share a response-cache key, so a cached
     * model never hits (the "never hits" cache workload). Off, every call resends one prebuilt message.
     */
    static final boolean UNIQUE_REQUESTS = Boolean.getBoolean("bench.unique-requests");
    private static final java.util.concurrent.atomic.AtomicLong NONCE = new java.util.concurrent.atomic.AtomicLong();

    private <R> R call(MethodDescriptor<ModelInferRequest, R> method) {
        ModelInferRequest message = !UNIQUE_REQUESTS ? request : withNonce();
        return ClientCalls.blockingUnaryCall(channel, method,
                CallOptions.DEFAULT.withDeadlineAfter(timeoutNanos, TimeUnit.NANOSECONDS), message);
    }

    @Override
    public boolean canSendAsync() {
        return true;
    }

    /** {@link #infer()} without a thread waiting: the callbacks run on the channel's event loop. */
    @Override
    public void inferAsync(Completion done) {
        ModelInferRequest message = !UNIQUE_REQUESTS ? request : withNonce();
        var call = channel.newCall(MODEL_INFER_UNDECODED,
                CallOptions.DEFAULT.withDeadlineAfter(timeoutNanos, TimeUnit.NANOSECONDS));
        ClientCalls.asyncUnaryCall(call, message, new io.grpc.stub.StreamObserver<Long>() {
            private long bytes = -1;

            @Override
            public void onNext(Long read) {
                bytes = read;
            }

            @Override
            public void onError(Throwable t) {
                if (t instanceof StatusRuntimeException e) {
                    int status = statusOf(e);
                    done.done(status, Status.isRejection(status) ? retryDelayNanos(e) : -1);
                } else {
                    done.done(Status.IO_ERROR, -1);
                }
            }

            @Override
            public void onCompleted() {
                done.done(okIfWhole(bytes), -1);
            }
        });
    }

    /** OK for an answer of {@code bytes} that can hold the outputs; an OK answer too short for them is an error. */
    int okIfWhole(long bytes) {
        return bytes >= minAnswerBytes ? Status.OK : Status.IO_ERROR;
    }

    /** The request every call sends (without a nonce). */
    ModelInferRequest request() {
        return request;
    }

    private ModelInferRequest withNonce() {
        return withNonce(request);
    }

    /** {@code request} with a {@code nonce} parameter no other call carries. */
    static ModelInferRequest withNonce(ModelInferRequest request) {
        return request.toBuilder()
                .putParameters("nonce", io.sluice.api.grpc.proto.InferParameter.newBuilder()
                        .setInt64Param(NONCE.incrementAndGet()).build())
                .build();
    }

    @Override
    public int infer() {
        retryHint = false;
        retryAfterNanos = 0;
        try {
            return okIfWhole(call(MODEL_INFER_UNDECODED));
        } catch (StatusRuntimeException e) {
            int status = statusOf(e);
            if (Status.isRejection(status)) {
                long delay = retryDelayNanos(e);
                retryHint = delay >= 0;
                retryAfterNanos = Math.max(0, delay);
            }
            return status;
        } catch (RuntimeException e) {
            return Status.IO_ERROR;
        }
    }

    /**
     * The outcome of a failed call. grpc-java reports its own transport failures (connection refused or
     * reset) as UNAVAILABLE with the exception as cause; a status the server sent has no cause. Those are
     * counted as {@link Status#IO_ERROR}, so that UNAVAILABLE means the server said so.
     */
    static int statusOf(StatusRuntimeException e) {
        io.grpc.Status s = e.getStatus();
        if (s.getCode() == io.grpc.Status.Code.UNAVAILABLE && s.getCause() != null) {
            return Status.IO_ERROR;
        }
        return Status.ofGrpc(s.getCode());
    }

    @Override
    public long retryAfterNanos() {
        return retryAfterNanos;
    }

    /**
     * The {@code google.rpc.RetryInfo} delay in the status details ({@code grpc-status-details-bin}), in
     * nanoseconds; -1 when there is none (so {@code >= 0} means the rejection carried a retry hint).
     */
    private static long retryDelayNanos(StatusRuntimeException e) {
        try {
            com.google.rpc.Status details = StatusProto.fromThrowable(e);
            return details == null ? -1 : retryDelayNanos(details);
        } catch (RuntimeException notParsed) {
            return -1;
        }
    }

    /** The delay of the first {@code google.rpc.RetryInfo} among {@code details}, in ns; -1 when there is none. */
    static long retryDelayNanos(com.google.rpc.Status details) {
        for (com.google.protobuf.Any a : details.getDetailsList()) {
            if (a.is(RetryInfo.class)) {
                try {
                    com.google.protobuf.Duration d = a.unpack(RetryInfo.class).getRetryDelay();
                    return TimeUnit.SECONDS.toNanos(d.getSeconds()) + d.getNanos();
                } catch (com.google.protobuf.InvalidProtocolBufferException notParsed) {
                    return -1;
                }
            }
        }
        return -1;
    }

    @Override
    public boolean retryHint() {
        return retryHint;
    }

    @Override
    public Response inferDecoded() {
        ModelInferResponse response;
        try {
            response = call(MODEL_INFER);
        } catch (StatusRuntimeException e) {
            String description = String.valueOf(e.getStatus().getDescription());
            return Response.failed(statusOf(e),
                    e.getStatus().getCode() + ": " + description.lines().findFirst().orElse(""));
        }
        List<Tensor> outputs = new ArrayList<>();
        int raw = response.getRawOutputContentsCount();
        if (raw != 0 && raw != response.getOutputsCount()) {
            return Response.failed(Status.IO_ERROR, raw + " raw_output_contents for "
                    + response.getOutputsCount() + " outputs");
        }
        for (int i = 0; i < response.getOutputsCount(); i++) {
            ModelInferResponse.InferOutputTensor o = response.getOutputs(i);
            long[] shape = o.getShapeList().stream().mapToLong(Long::longValue).toArray();
            byte[] bytes = raw != 0 ? response.getRawOutputContents(i).toByteArray() : contents(o);
            outputs.add(new Tensor(o.getName(), o.getDatatype(), shape, bytes));
        }
        return new Response(Status.OK, outputs, null);
    }

    /** Typed {@code contents} (when the server does not answer raw) as little-endian bytes. */
    private static byte[] contents(ModelInferResponse.InferOutputTensor o) {
        var c = o.getContents();
        if (c.getFp32ContentsCount() > 0) {
            float[] f = new float[c.getFp32ContentsCount()];
            for (int i = 0; i < f.length; i++) {
                f[i] = c.getFp32Contents(i);
            }
            return Tensor.fp32(o.getName(), new long[] {f.length}, f).raw();
        }
        long[] l = c.getInt64ContentsList().stream().mapToLong(Long::longValue).toArray();
        return Tensor.int64(o.getName(), new long[] {l.length}, l).raw();
    }

    @Override
    public List<Tensor> inputs() {
        return inputs;
    }

    @Override
    public void close() {
        // the channel belongs to the ClientFactory
    }
}
