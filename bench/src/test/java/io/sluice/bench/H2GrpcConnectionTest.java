package io.sluice.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.Duration;
import com.google.rpc.RetryInfo;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.netty.channel.nio.NioEventLoopGroup;
import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.api.grpc.proto.ModelInferResponse;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The load generator's own gRPC client against a grpc-java server: outcomes, retry delays, deadlines,
 * answers larger than every flow-control window, more calls than the server's stream limit, and a
 * connection that goes away. The model name of each request says how the fake service answers.
 */
class H2GrpcConnectionTest {
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);
    /** Calls the fake service holds without answering (the "silent" model), answered or dropped at the end. */
    private final ConcurrentLinkedQueue<StreamObserver<ModelInferResponse>> held = new ConcurrentLinkedQueue<>();
    private Server server;
    private NioEventLoopGroup group;
    private H2GrpcConnection connection;

    @BeforeEach
    void start() throws Exception {
        ServerServiceDefinition service = ServerServiceDefinition.builder("inference.GRPCInferenceService")
                .addMethod(GrpcClient.MODEL_INFER, ServerCalls.asyncUnaryCall(this::answer))
                .build();
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(service)
                .maxConcurrentCallsPerConnection(4)
                .build().start();
        group = new NioEventLoopGroup(1);
        connection = open(10 * SECOND);
    }

    private H2GrpcConnection open(long timeoutNanos) throws InterruptedException {
        return H2GrpcConnection.open(group, "127.0.0.1", server.getPort(),
                "inference.GRPCInferenceService/ModelInfer", timeoutNanos);
    }

    @AfterEach
    void stop() throws Exception {
        connection.close();
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }

    private void answer(ModelInferRequest request, StreamObserver<ModelInferResponse> out) {
        String model = request.getModelName();
        if (model.startsWith("bytes-")) { // an answer of that many output bytes
            int n = Integer.parseInt(model.substring("bytes-".length()));
            out.onNext(ModelInferResponse.newBuilder().setModelName(model)
                    .addRawOutputContents(ByteString.copyFrom(new byte[n])).build());
            out.onCompleted();
        } else if (model.equals("full")) {
            out.onError(StatusProto.toStatusRuntimeException(com.google.rpc.Status.newBuilder()
                    .setCode(io.grpc.Status.Code.UNAVAILABLE.value()).setMessage("bulkhead full")
                    .addDetails(Any.pack(RetryInfo.newBuilder()
                            .setRetryDelay(Duration.newBuilder().setSeconds(1).setNanos(250_000_000)).build()))
                    .build()));
        } else if (model.equals("quota")) {
            out.onError(io.grpc.Status.RESOURCE_EXHAUSTED.withDescription("over quota").asRuntimeException());
        } else if (model.equals("silent")) {
            held.add(out);
        } else {
            out.onError(io.grpc.Status.NOT_FOUND.withDescription("no model " + model).asRuntimeException());
        }
    }

    /** One call's outcome: status and retry delay. */
    private static long[] call(H2GrpcConnection c, String model, long timeoutNanos) throws Exception {
        CompletableFuture<long[]> done = new CompletableFuture<>();
        c.call(LeanGrpcClient.frame(ModelInferRequest.newBuilder().setModelName(model).build()), timeoutNanos,
                (status, retry) -> done.complete(new long[] {status, retry}));
        return done.get(20, TimeUnit.SECONDS);
    }

    @Test
    void anAnswerLargerThanEveryWindowIsReadToItsEndAndIsOk() throws Exception {
        long[] small = call(connection, "bytes-10", 10 * SECOND);
        long[] large = call(connection, "bytes-9000000", 10 * SECOND); // > 4 MiB windows, > 16 KiB frames
        assertEquals(Status.OK, small[0]);
        assertEquals(Status.OK, large[0]);
        assertEquals(-1, large[1]);
    }

    @Test
    void anOkAnswerTooShortToHoldTheOutputsIsNotASuccess() throws Exception {
        connection.expectOkMessagesOfAtLeast(1000);
        assertEquals(Status.IO_ERROR, call(connection, "bytes-10", 10 * SECOND)[0]);
        assertEquals(Status.OK, call(connection, "bytes-1000", 10 * SECOND)[0]);
        // a rejection carries no message: the bound is for OK answers only
        assertEquals(Status.ofGrpc(io.grpc.Status.Code.UNAVAILABLE), call(connection, "full", 10 * SECOND)[0]);
    }

    @Test
    void statusesComeFromTheTrailersWithTheRetryInfoDelay() throws Exception {
        long[] full = call(connection, "full", 10 * SECOND);
        long[] quota = call(connection, "quota", 10 * SECOND);
        long[] missing = call(connection, "nothing-here", 10 * SECOND);
        assertEquals(Status.ofGrpc(io.grpc.Status.Code.UNAVAILABLE), full[0]);
        assertEquals(TimeUnit.MILLISECONDS.toNanos(1250), full[1]);
        assertEquals(Status.ofGrpc(io.grpc.Status.Code.RESOURCE_EXHAUSTED), quota[0]);
        assertEquals(-1, quota[1]);
        assertEquals(Status.ofGrpc(io.grpc.Status.Code.NOT_FOUND), missing[0]);
    }

    @Test
    void aCallPastItsDeadlineEndsAsDeadlineExceededAndTheStreamIsReset() throws Exception {
        long[] late = call(connection, "silent", TimeUnit.MILLISECONDS.toNanos(200));
        assertEquals(Status.ofGrpc(io.grpc.Status.Code.DEADLINE_EXCEEDED), late[0]);
        long[] after = call(connection, "bytes-100", 10 * SECOND); // the connection still works
        assertEquals(Status.OK, after[0]);
    }

    @Test
    void moreCallsThanTheServersStreamLimitWaitTheirTurnAndAllComeBack() throws Exception {
        int n = 200;
        CountDownLatch done = new CountDownLatch(n);
        List<Integer> statuses = java.util.Collections.synchronizedList(new ArrayList<>());
        var framed = LeanGrpcClient.frame(ModelInferRequest.newBuilder().setModelName("bytes-200000").build());
        for (int i = 0; i < n; i++) { // from this thread, not the event loop, as the open loop sends
            connection.call(framed, 10 * SECOND, (status, retry) -> {
                statuses.add(status);
                done.countDown();
            });
        }
        assertTrue(done.await(60, TimeUnit.SECONDS), "answered: " + (n - done.getCount()));
        assertEquals(n, statuses.size());
        assertTrue(statuses.stream().allMatch(s -> s == Status.OK), statuses.toString());
    }

    @Test
    void callsOutstandingWhenTheConnectionGoesAwayEndAsIoErrors() throws Exception {
        CompletableFuture<long[]> pending = new CompletableFuture<>();
        connection.call(LeanGrpcClient.frame(ModelInferRequest.newBuilder().setModelName("silent").build()),
                10 * SECOND, (status, retry) -> pending.complete(new long[] {status, retry}));
        long giveUp = System.nanoTime() + 20 * SECOND;
        while (held.isEmpty()) { // until the server has the call, polled without holding a core
            assertTrue(System.nanoTime() < giveUp, "the server never received the call");
            java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
        }
        server.shutdownNow();
        assertEquals(Status.IO_ERROR, pending.get(20, TimeUnit.SECONDS)[0]);
        long[] after = call(connection, "bytes-1", 10 * SECOND);
        assertEquals(Status.IO_ERROR, after[0]);
    }
}
