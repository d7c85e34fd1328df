package io.sluice.api;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2ChannelDuplexHandler;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * An HTTP/2 client on Netty's frame codec, cleartext with prior knowledge as gRPC clients connect, that sees every
 * frame: each GOAWAY's last stream (Vert.x's client tells only the first), and PINGs answered as any client answers
 * them. The caller names each stream by the id it gets: Netty's client codec opens 3, 5, 7 ... in turn.
 */
final class H2FrameClient implements AutoCloseable {

    private final NioEventLoopGroup group = new NioEventLoopGroup(1);
    private final List<Integer> goAways = new CopyOnWriteArrayList<>();
    private final Map<Integer, Http2FrameStream> streams = new ConcurrentHashMap<>();
    private final Map<Integer, CompletableFuture<String>> statuses = new ConcurrentHashMap<>();
    private final Map<Integer, StringBuilder> bodies = new ConcurrentHashMap<>();
    private final Map<Integer, CompletableFuture<String>> ends = new ConcurrentHashMap<>();
    private final int port;
    private Channel channel;
    private Frames frames;

    private H2FrameClient(int port) {
        this.port = port;
    }

    static H2FrameClient connect(int port) throws InterruptedException {
        H2FrameClient client = new H2FrameClient(port);
        client.frames = client.new Frames();
        client.channel = new Bootstrap().group(client.group).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(Http2FrameCodecBuilder.forClient().autoAckPingFrame(true).build(),
                                client.frames);
                    }
                }).connect("127.0.0.1", port).sync().channel();
        return client;
    }

    /** The last-stream ids of the GOAWAY frames received, in order. */
    List<Integer> goAways() {
        return goAways;
    }

    /** A whole GET on stream {@code id}; its status. */
    String get(int id, String path) throws Exception {
        open(id, headers("GET", path), true);
        return statuses.get(id).get(30, TimeUnit.SECONDS);
    }

    /** The headers and the first part of a POST body on stream {@code id}, which stays open. */
    void postStart(int id, String path, String part, int length) throws Exception {
        Http2Headers headers = headers("POST", path).add("content-type", "application/json")
                .add("content-length", Integer.toString(length));
        open(id, headers, false);
        data(id, part, false);
    }

    /** The rest of stream {@code id}'s body; the whole answer's body once it ends. */
    String postEnd(int id, String rest) throws Exception {
        data(id, rest, true);
        return ends.get(id).get(30, TimeUnit.SECONDS);
    }

    private Http2Headers headers(String method, String path) {
        return new DefaultHttp2Headers().method(method).path(path).scheme("http").authority("127.0.0.1:" + port);
    }

    private void open(int id, Http2Headers headers, boolean end) throws Exception {
        statuses.put(id, new CompletableFuture<>());
        ends.put(id, new CompletableFuture<>());
        bodies.put(id, new StringBuilder());
        CompletableFuture<Http2FrameStream> opened = new CompletableFuture<>();
        channel.eventLoop().execute(() -> {
            Http2FrameStream stream = frames.stream();
            channel.writeAndFlush(new DefaultHttp2HeadersFrame(headers, end).stream(stream)).addListener(f -> {
                if (stream.id() != id) {
                    opened.completeExceptionally(new AssertionError("stream " + stream.id() + ", expected " + id));
                } else {
                    opened.complete(stream);
                }
            });
        });
        streams.put(id, opened.get(30, TimeUnit.SECONDS));
    }

    private void data(int id, String text, boolean end) throws Exception {
        channel.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.copiedBuffer(text, StandardCharsets.UTF_8), end)
                .stream(streams.get(id))).sync();
    }

    @Override
    public void close() {
        channel.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    /** Reads every frame; its {@link #newStream()} opens a stream. */
    private final class Frames extends Http2ChannelDuplexHandler {
        Http2FrameStream stream() {
            return newStream();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof Http2GoAwayFrame goAway) {
                    goAways.add(goAway.lastStreamId());
                } else if (msg instanceof Http2HeadersFrame headers && headers.stream() != null) {
                    int id = headers.stream().id();
                    if (headers.headers().status() != null) {
                        statuses.get(id).complete(headers.headers().status().toString());
                    }
                    if (headers.isEndStream()) {
                        ends.get(id).complete(bodies.get(id).toString());
                    }
                } else if (msg instanceof Http2DataFrame data && data.stream() != null) {
                    int id = data.stream().id();
                    bodies.get(id).append(data.content().toString(StandardCharsets.UTF_8));
                    if (data.isEndStream()) {
                        ends.get(id).complete(bodies.get(id).toString());
                    }
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }
    }
}
