package io.sluice;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.restassured.RestAssured;

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
}
