package io.sluice.bench;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Clients of the server for one workload over one protocol. REST workers each get their own
 * keep-alive connection; gRPC workers share {@code --grpc-channels} h2c connections (round robin).
 */
final class ServerClients implements ClientFactory {
    private final Protocol protocol;
    private final Workload workload;
    private final Settings settings;
    private final List<ManagedChannel> channels = new ArrayList<>();

    ServerClients(Protocol protocol, Workload workload, Settings settings) {
        this.protocol = protocol;
        this.workload = workload;
        this.settings = settings;
        if (protocol == Protocol.GRPC) {
            for (int i = 0; i < Math.max(1, settings.grpcChannels); i++) {
                channels.add(NettyChannelBuilder.forAddress(Settings.HOST, settings.grpcPort)
                        .usePlaintext()
                        .maxInboundMessageSize(256 * 1024 * 1024)
                        .flowControlWindow(4 * 1024 * 1024)
                        .directExecutor() // asynchronous callbacks on the event loop; blocking calls bring their own
                        .build());
            }
        }
    }

    @Override
    public InferClient create(int index) {
        var inputs = workload.inputs(1000L + index);
        int timeoutMillis = (int) Math.max(1, settings.timeoutSeconds * 1000);
        switch (protocol) {
            case GRPC:
                return new GrpcClient(channels.get(index % channels.size()), workload.model, inputs,
                        Settings.nanos(settings.timeoutSeconds));
            case REST_BINARY:
                return new RestBinaryClient(workload.model, inputs, settings.port, timeoutMillis);
            default:
                return new RestJsonClient(workload.model, inputs, settings.port, timeoutMillis);
        }
    }

    @Override
    public boolean canSendAsync() {
        return protocol == Protocol.GRPC;
    }

    @Override
    public void close() {
        for (ManagedChannel c : channels) {
            c.shutdownNow();
        }
        for (ManagedChannel c : channels) {
            try {
                c.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
