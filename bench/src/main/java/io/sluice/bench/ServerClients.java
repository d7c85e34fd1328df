package io.sluice.bench;

import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Clients of the server for one workload over one protocol. REST workers each get their own
 * keep-alive connection; gRPC workers share {@code --grpc-channels} h2c connections (round robin): with
 * {@code --grpc-client lean} (the default) {@link H2GrpcConnection}s, plus one grpc-java channel that decodes
 * the answers checked for validity; with {@code --grpc-client grpc-java} grpc-java channels for everything.
 * {@code grpc-stream} workers each keep a stream open on grpc-java channels.
 */
final class ServerClients implements ClientFactory {
    private final Protocol protocol;
    private final Workload workload;
    private final Settings settings;
    private final List<ManagedChannel> channels = new ArrayList<>();
    private final List<H2GrpcConnection> connections = new ArrayList<>();
    private EventLoopGroup group;

    ServerClients(Protocol protocol, Workload workload, Settings settings) {
        this.protocol = protocol;
        this.workload = workload;
        this.settings = settings;
        if (protocol != Protocol.GRPC && protocol != Protocol.GRPC_STREAM) {
            return;
        }
        int n = Math.max(1, settings.grpcChannels);
        boolean lean = settings.leanGrpc() && protocol == Protocol.GRPC; // streams are grpc-java's
        for (int i = 0; i < (lean ? 1 : n); i++) {
            channels.add(NettyChannelBuilder.forAddress(Settings.HOST, settings.grpcPort)
                    .usePlaintext()
                    .maxInboundMessageSize(256 * 1024 * 1024)
                    .flowControlWindow(4 * 1024 * 1024)
                    .directExecutor() // asynchronous callbacks on the event loop; blocking calls bring their own
                    .build());
        }
        if (lean) {
            group = new NioEventLoopGroup(Math.min(n, Runtime.getRuntime().availableProcessors()));
            try {
                for (int i = 0; i < n; i++) {
                    H2GrpcConnection connection = H2GrpcConnection.open(group, Settings.HOST, settings.grpcPort,
                            "inference.GRPCInferenceService/ModelInfer", Settings.nanos(settings.timeoutSeconds));
                    connection.expectOkMessagesOfAtLeast(workload.outputBytes());
                    connections.add(connection);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                close();
                throw new IllegalStateException("interrupted while connecting", e);
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }
    }

    @Override
    public InferClient create(int index) {
        var inputs = workload.inputs(1000L + index);
        int timeoutMillis = (int) Math.max(1, settings.timeoutSeconds * 1000);
        switch (protocol) {
            case GRPC:
                GrpcClient grpc = new GrpcClient(channels.get(index % channels.size()), workload.model, inputs,
                        Settings.nanos(settings.timeoutSeconds), workload.outputBytes());
                return connections.isEmpty() ? grpc : new LeanGrpcClient(
                        connections.get(index % connections.size()), grpc, Settings.nanos(settings.timeoutSeconds));
            case GRPC_STREAM:
                Channel channel = channels.get(index % channels.size());
                return new GrpcStreamClient(channel, new GrpcClient(channel, workload.model, inputs,
                        Settings.nanos(settings.timeoutSeconds), workload.outputBytes()), inputs,
                        Settings.nanos(settings.timeoutSeconds));
            case REST_BINARY:
                return new RestBinaryClient(workload.model, inputs, settings.port, timeoutMillis, workload.outputBytes());
            default:
                return new RestJsonClient(workload.model, inputs, settings.port, timeoutMillis, workload.outputBytes() / 4);
        }
    }

    @Override
    public boolean canSendAsync() {
        return protocol == Protocol.GRPC;
    }

    @Override
    public void close() {
        for (H2GrpcConnection c : connections) {
            c.close();
        }
        if (group != null) {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
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
