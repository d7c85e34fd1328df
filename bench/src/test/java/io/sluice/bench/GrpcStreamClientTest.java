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
 * the stream.
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
                    case "ok" -> answers.onNext(ModelStreamInferResponse.newBuilder().setInferResponse(response
                            .addOutputs(ModelInferResponse.InferOutputTensor.newBuilder().setName("Y").setDatatype("FP32")
                                    .addShape(1).addShape(2))
                            .addRawOutputContents(ByteString.copyFrom(OUTPUT))).build());
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

    private GrpcStreamClient client(String model) {
        List<Tensor> inputs = List.of(Tensor.fp32("X", new long[] {1, 2}, new float[] {1, 2}));
        return new GrpcStreamClient(channel, new GrpcClient(channel, model, inputs, 5 * SECOND), inputs, 5 * SECOND);
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
