package io.sluice;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.rpc.RetryInfo;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.grpc.netty.NettyChannelBuilder;
import io.restassured.RestAssured;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** A real gRPC channel to the running app, on its HTTP port (h2c with prior knowledge). */
public final class GrpcClients {

    private GrpcClients() {}

    /** A plaintext channel to 127.0.0.1 on the port the app listens on; the caller shuts it down. */
    public static ManagedChannel channel() {
        return NettyChannelBuilder.forAddress("127.0.0.1", RestAssured.port)
                .usePlaintext()
                .maxInboundMessageSize(64 * 1024 * 1024)
                .build();
    }

    /** FP32 values as raw little-endian contents. */
    public static ByteString rawFloats(float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return ByteString.copyFrom(b.flip());
    }

    /** Raw little-endian FP32 contents as values. */
    public static float[] floats(ByteString raw) {
        ByteBuffer b = raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[b.remaining() / 4];
        for (int i = 0; i < out.length; i++) {
            out[i] = b.getFloat();
        }
        return out;
    }

    /** The RetryInfo delay of a failed call, in whole seconds; fails when there is none. */
    public static long retryDelaySeconds(StatusRuntimeException e) {
        com.google.rpc.Status status = StatusProto.fromThrowable(e);
        if (status == null) {
            throw new AssertionError("no status details in " + e);
        }
        for (Any detail : status.getDetailsList()) {
            if (detail.is(RetryInfo.class)) {
                try {
                    return detail.unpack(RetryInfo.class).getRetryDelay().getSeconds();
                } catch (com.google.protobuf.InvalidProtocolBufferException x) {
                    throw new AssertionError(x);
                }
            }
        }
        throw new AssertionError("no RetryInfo in " + status);
    }

}
