package io.sluice.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.api.grpc.proto.ModelInferResponse;
import io.sluice.api.grpc.proto.ModelStreamInferResponse;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The streaming client against a grpc-java server whose fake {@code ModelStreamInfer} answers each request
 * as its model name says: "ok" with one output, "fail" and "busy" with an in-stream error, "end" by ending
 * the stream. Its fake {@code ModelInfer} answers the unary client with one output.
 */
class GrpcStreamClientTest {
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);
    private static final byte[] OUTPUT = {1, 2, 3, 4, 5, 6, 7, 8};
    private final AtomicInteger streams = new AtomicInteger();
    private Server server;
    private ManagedChannel channel;

    @BeforeEach
    void start() throws Exception {
        ServerServiceDefinition service = ServerServiceDefinition.builder("inference.GRPCInferenceService")
                .addMethod(GrpcStreamClient.STREAM, ServerCalls.asyncBidiStreamingCall(this::answer))
                .addMethod(GrpcClient.MODEL_INFER, ServerCalls.asyncUnaryCall((request, answer) -> {
                    answer.onNext(okResponse(request).build());
                    answer.onCompleted();
                }))
                .build();
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(service).build().start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
    }

    @AfterEach
    void stop() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    private StreamObserver<ModelInferRequest> answer(StreamObserver<ModelStreamInferResponse> answers) {
        streams.incrementAndGet();
        return new StreamObserver<>() {
            @Override
            public void onNext(ModelInferRequest request) {
                ModelInferResponse.Builder response = ModelInferResponse.newBuilder().setModelName(request.getModelName());
                switch (request.getModelName()) {
                    case "ok" -> answers.onNext(ModelStreamInferResponse.newBuilder().setInferResponse(okResponse(request))
                            .build());
                    case "fail" -> answers.onNext(ModelStreamInferResponse.newBuilder().setErrorMessage("input 'X' is missing")
                            .setInferResponse(response).build());
                    case "busy" -> answers.onNext(ModelStreamInferResponse.newBuilder()
                            .setErrorMessage("the queue is full (retry after 5 ms)").setInferResponse(response).build());
                    default -> answers.onCompleted();
                }
            }

            @Override
            public void onError(Throwable t) {}

            @Override
            public void onCompleted() {
                answers.onCompleted();
            }
        };
    }

    private static ModelInferResponse.Builder okResponse(ModelInferRequest request) {
        return ModelInferResponse.newBuilder().setModelName(request.getModelName())
                .addOutputs(ModelInferResponse.InferOutputTensor.newBuilder().setName("Y").setDatatype("FP32")
                        .addShape(1).addShape(2))
                .addRawOutputContents(ByteString.copyFrom(OUTPUT));
    }

    private static final List<Tensor> INPUTS = List.of(Tensor.fp32("X", new long[] {1, 2}, new float[] {1, 2}));

    private GrpcStreamClient client(String model) {
        return client(model, 0);
    }

    private GrpcStreamClient client(String model, long minAnswerBytes) {
        return new GrpcStreamClient(channel, unary(model, minAnswerBytes), INPUTS, 5 * SECOND);
    }

    private GrpcClient unary(String model, long minAnswerBytes) {
        return new GrpcClient(channel, model, INPUTS, 5 * SECOND, minAnswerBytes);
    }

    @Test
    void anOkAnswerTooShortToHoldTheOutputsIsNotASuccess() throws Exception {
        // the answers hold 8 bytes of output: enough for a model of 8, not for one of 1,000
        assertEquals(Status.OK, client("ok", OUTPUT.length).infer());
        assertEquals(Status.IO_ERROR, client("ok", 1000).infer());
        assertEquals(Status.ofGrpc(io.grpc.Status.Code.UNKNOWN), client("fail", 1000).infer(), "errors stay errors");
        assertEquals(Status.OK, unary("ok", OUTPUT.length).infer());
        assertEquals(Status.IO_ERROR, unary("ok", 1000).infer());
        for (long min : new long[] {OUTPUT.length, 1000}) {
            java.util.concurrent.CompletableFuture<Integer> status = new java.util.concurrent.CompletableFuture<>();
            unary("ok", min).inferAsync((code, retry) -> status.complete(code));
            assertEquals(min == 1000 ? Status.IO_ERROR : Status.OK, status.get(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void answersComeBackOnOneStreamPerClient() {
        GrpcStreamClient client = client("ok");
        for (int i = 0; i < 5; i++) {
            assertEquals(Status.OK, client.infer());
        }
        assertEquals(1, streams.get());
        client.close();
        assertEquals(Status.OK, client.infer());
        assertEquals(2, streams.get(), "a closed client opens a new stream");
    }

    @Test
    void inStreamErrorsCountAsUnknownOrAsUnavailableWhenTheyAskForARetry() {
        assertEquals(Status.ofGrpc(io.grpc.Status.Code.UNKNOWN), client("fail").infer());
        assertEquals(Status.GRPC_UNAVAILABLE, client("busy").infer());
    }

    @Test
    void aStreamThatEndsIsAnErrorAndTheNextCallOpensANewOne() {
        GrpcStreamClient client = client("end");
        assertEquals(Status.IO_ERROR, client.infer());
        assertEquals(Status.IO_ERROR, client.infer());
        assertEquals(2, streams.get());
    }

    @Test
    void theDecodedAnswerCarriesTheOutputs() {
        InferClient.Response response = client("ok").inferDecoded();
        assertEquals(Status.OK, response.status());
        assertEquals(1, response.outputs().size());
        assertEquals("Y", response.outputs().get(0).name());
        assertArrayEquals(OUTPUT, response.outputs().get(0).raw());
        assertEquals(Status.ofGrpc(io.grpc.Status.Code.UNKNOWN), client("fail").inferDecoded().status());
    }
}
