package io.sluice.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.sluice.api.grpc.proto.ModelInferRequest;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * gRPC {@code ModelInfer} over an {@link H2GrpcConnection} shared with other workers: the measured calls.
 * The request is encoded and framed once; {@link #inferDecoded()}, which validates an answer, goes through
 * grpc-java ({@link GrpcClient}), so what the server sends is checked by a stock gRPC client.
 */
final class LeanGrpcClient implements InferClient {
    private final H2GrpcConnection connection;
    private final GrpcClient decoding;
    private final ModelInferRequest request;
    private final ByteBuf framed;
    private final long timeoutNanos;
    private boolean retryHint;
    private long retryAfterNanos;

    LeanGrpcClient(H2GrpcConnection connection, GrpcClient decoding, long timeoutNanos) {
        this.connection = connection;
        this.decoding = decoding;
        this.request = decoding.request();
        this.framed = frame(request);
        this.timeoutNanos = timeoutNanos;
    }

    /** The message as it goes on the wire: a 0 flag (not compressed), its length (big-endian), its bytes. */
    static ByteBuf frame(ModelInferRequest message) {
        byte[] bytes = message.toByteArray();
        return Unpooled.unreleasableBuffer(Unpooled.buffer(5 + bytes.length).writeByte(0).writeInt(bytes.length)
                .writeBytes(bytes));
    }

    @Override
    public boolean canSendAsync() {
        return true;
    }

    @Override
    public void inferAsync(Completion done) {
        connection.call(GrpcClient.UNIQUE_REQUESTS ? frame(GrpcClient.withNonce(request)) : framed, timeoutNanos,
                done::done);
    }

    @Override
    public int infer() {
        CompletableFuture<long[]> answer = new CompletableFuture<>();
        inferAsync((status, retryAfter) -> answer.complete(new long[] {status, retryAfter}));
        long[] a = answer.join();
        int status = (int) a[0];
        retryHint = Status.isRejection(status) && a[1] >= 0;
        retryAfterNanos = Math.max(0, a[1]);
        return status;
    }

    @Override
    public boolean retryHint() {
        return retryHint;
    }

    @Override
    public long retryAfterNanos() {
        return retryAfterNanos;
    }

    @Override
    public Response inferDecoded() {
        return decoding.inferDecoded();
    }

    @Override
    public List<Tensor> inputs() {
        return decoding.inputs();
    }

    @Override
    public void close() {
        // the connection belongs to the ClientFactory
    }
}
