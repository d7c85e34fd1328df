package io.sluice.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2ConnectionHandlerBuilder;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2EventAdapter;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameLogger;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.logging.LogLevel;
import io.netty.util.AsciiString;
import io.netty.util.collection.IntObjectHashMap;
import java.util.ArrayList;
import java.util.Base64;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One h2c connection (prior knowledge, as every gRPC client over plain text) that sends unary gRPC calls
 * of one method, written directly on Netty's HTTP/2 codec. It is the load generator's gRPC client because
 * grpc-java's client spends two to four times the CPU per call of the REST clients (0.09–0.18 ms against
 * 0.04–0.05 ms per tiny-model call, counted from /proc), CPU a client on another machine would not take
 * from the server. A call sends HEADERS and one DATA frame holding the length-prefixed message, reads the
 * answer's DATA without decoding it (counting its bytes against the message's length prefix), and takes
 * its outcome from {@code grpc-status} in the trailers, and the retry delay of a rejection from the
 * {@code google.rpc.RetryInfo} in {@code grpc-status-details-bin}, as grpc-java would report them.
 * Everything but {@link #call} runs on the connection's event loop.
 */
final class H2GrpcConnection implements AutoCloseable {
    /** The receive window per stream and for the connection, as the grpc-java channels had (4 MiB). */
    private static final int WINDOW = 4 * 1024 * 1024;
    /** How often calls past their deadline are looked for. */
    private static final long SWEEP_MILLIS = 50;
    private static final AsciiString GRPC_STATUS = AsciiString.cached("grpc-status");
    private static final AsciiString GRPC_DETAILS = AsciiString.cached("grpc-status-details-bin");

    /** How a call ended: a {@link Status} code and, for a rejection with a RetryInfo, its delay in ns (else -1). */
    @FunctionalInterface
    interface Outcome {
        void done(int status, long retryAfterNanos);
    }

    private final Channel channel;
    private final Http2ConnectionHandler http2;
    private final ChannelHandlerContext ctx;
    private final Http2Headers headers;
    private final IntObjectHashMap<Call> calls = new IntObjectHashMap<>();
    /** The least message an OK answer carries: the outputs' raw bytes; 0 until {@link #expectOkMessagesOfAtLeast}. */
    private volatile long minOkMessageBytes;

    private H2GrpcConnection(Channel channel, Http2ConnectionHandler http2, Http2Headers headers) {
        this.channel = channel;
        this.http2 = http2;
        this.ctx = channel.pipeline().context(http2);
        this.headers = headers;
        channel.eventLoop().scheduleAtFixedRate(this::expire, SWEEP_MILLIS, SWEEP_MILLIS, TimeUnit.MILLISECONDS);
        channel.closeFuture().addListener(f -> failAll(Status.IO_ERROR));
    }

    /** Connects to {@code host:port} for calls of {@code fullMethod} ({@code package.Service/Method}). */
    static H2GrpcConnection open(EventLoopGroup group, String host, int port, String fullMethod, long timeoutNanos)
            throws InterruptedException {
        Holder holder = new Holder();
        Http2ConnectionHandlerBuilder builder = new Http2ConnectionHandlerBuilder()
                .server(false)
                .initialSettings(Http2Settings.defaultSettings().initialWindowSize(WINDOW).pushEnabled(false))
                .encoderEnforceMaxConcurrentStreams(true) // past the server's limit, streams wait their turn
                .frameListener(new Listener(holder));
        if (Boolean.getBoolean("bench.h2-debug")) { // every frame, logged through java.util.logging
            builder.frameLogger(new Http2FrameLogger(LogLevel.INFO));
        }
        Http2ConnectionHandler http2 = builder.build();
        Channel channel = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(http2, new ChannelInboundHandlerAdapter() {
                            @Override
                            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                ctx.close(); // a reset connection: its calls end as I/O errors (closeFuture)
                            }
                        });
                    }
                })
                .connect(host, port).sync().channel();
        Http2Headers headers = new DefaultHttp2Headers()
                .method("POST").scheme("http").path("/" + fullMethod).authority(host + ":" + port)
                .set("content-type", "application/grpc")
                .set("te", "trailers")
                .set("grpc-timeout", Math.max(1, TimeUnit.NANOSECONDS.toMillis(timeoutNanos)) + "m");
        H2GrpcConnection connection = new H2GrpcConnection(channel, http2, headers);
        holder.connection = connection;
        channel.eventLoop().submit(() -> {
            try { // the connection window starts at 64 KiB whatever SETTINGS say: raise it to every stream's
                http2.connection().local().flowController().incrementWindowSize(
                        http2.connection().connectionStream(), WINDOW - Http2CodecUtil.DEFAULT_WINDOW_SIZE);
                connection.channel.flush();
            } catch (Http2Exception e) {
                throw new IllegalStateException(e);
            }
        }).sync();
        // calls sent before the server's SETTINGS would not know its stream limit: past it, the server
        // may refuse them or end the connection (seen as every call failing at once in a test)
        try {
            holder.settings.get(10, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            channel.close();
            throw new IllegalStateException("no HTTP/2 SETTINGS from " + host + ":" + port, e);
        }
        return connection;
    }

    /**
     * Sends one call whose framed message (5-byte gRPC prefix and the encoded message) is {@code framed}; the
     * buffer is not consumed. {@code outcome} runs once, on the event loop.
     */
    void call(ByteBuf framed, long timeoutNanos, Outcome outcome) {
        Call call = new Call(System.nanoTime() + timeoutNanos, outcome);
        if (channel.eventLoop().inEventLoop()) {
            start(framed.retainedDuplicate(), call);
        } else {
            ByteBuf body = framed.retainedDuplicate();
            channel.eventLoop().execute(() -> start(body, call));
        }
    }

    private void start(ByteBuf body, Call call) {
        if (!channel.isActive()) {
            body.release();
            call.outcome.done(Status.IO_ERROR, -1);
            return;
        }
        int id;
        try {
            id = http2.connection().local().incrementAndGetNextStreamId();
        } catch (RuntimeException e) {
            body.release();
            call.outcome.done(Status.IO_ERROR, -1);
            return;
        }
        calls.put(id, call);
        http2.encoder().writeHeaders(ctx, id, headers, 0, false, ctx.newPromise());
        http2.encoder().writeData(ctx, id, body, 0, true, ctx.newPromise())
                .addListener(f -> {
                    if (!f.isSuccess()) {
                        finish(id, Status.IO_ERROR, -1);
                    }
                });
        channel.flush(); // through the HTTP/2 handler, whose flush writes what flow control held back
    }

    private void finish(int id, int status, long retryAfterNanos) {
        Call call = calls.remove(id);
        if (call != null) {
            call.outcome.done(status, retryAfterNanos);
        }
    }

    /** Calls past their deadline end as DEADLINE_EXCEEDED, as grpc-java ends them, and their streams are reset. */
    private void expire() {
        if (calls.isEmpty()) {
            return;
        }
        long now = System.nanoTime();
        ArrayList<Integer> late = new ArrayList<>();
        for (IntObjectHashMap.PrimitiveEntry<Call> e : calls.entries()) {
            if (now - e.value().deadline > 0) {
                late.add(e.key());
            }
        }
        for (int id : late) {
            finish(id, Status.ofGrpc(io.grpc.Status.Code.DEADLINE_EXCEEDED), -1);
            http2.encoder().writeRstStream(ctx, id, Http2Error.CANCEL.code(), ctx.newPromise());
        }
        if (!late.isEmpty()) {
            channel.flush(); // through the HTTP/2 handler, whose flush writes what flow control held back
        }
    }

    private void failAll(int status) {
        ArrayList<Call> all = new ArrayList<>(calls.values());
        calls.clear();
        for (Call c : all) {
            c.outcome.done(status, -1);
        }
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
    }

    /** One outstanding call: its deadline, what it has read so far, and whom to tell. */
    static final class Call {
        final long deadline;
        final Outcome outcome;
        boolean headersRead;
        long bytes;
        long declared = -1;
        long prefix; // the first five bytes as they arrive: flag and big-endian length

        Call(long deadline, Outcome outcome) {
            this.deadline = deadline;
            this.outcome = outcome;
        }
    }

    /** Lets the listener, built before the connection, reach it. */
    private static final class Holder {
        H2GrpcConnection connection;
        /** Completed by the server's first SETTINGS: from then on its stream limit is known. */
        final CompletableFuture<Void> settings = new CompletableFuture<>();
    }

    /**
     * From now on an OK answer whose message is shorter than {@code bytes} counts as an I/O error, not a
     * success: every answer is checked for holding its outputs, not only the first one each scenario decodes.
     */
    void expectOkMessagesOfAtLeast(long bytes) {
        minOkMessageBytes = bytes;
    }

    /** Reads answers: headers, the message's bytes (counted), and the trailers with the status. */
    private static final class Listener extends Http2EventAdapter {
        private final Holder holder;

        Listener(Holder holder) {
            this.holder = holder;
        }

        @Override
        public void onSettingsRead(ChannelHandlerContext ctx, Http2Settings settings) {
            holder.settings.complete(null); // applied to the encoder before this is called
        }

        @Override
        public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean endOfStream) {
            int n = data.readableBytes();
            Call call = holder.connection.calls.get(streamId);
            if (call != null) {
                int i = data.readerIndex();
                for (; call.bytes < 5 && i < data.writerIndex(); i++) { // the prefix: flag, then the length
                    call.prefix = (call.prefix << 8) | (data.getByte(i) & 0xff);
                    if (++call.bytes == 5) {
                        call.declared = call.prefix & 0xffffffffL;
                    }
                }
                call.bytes += data.writerIndex() - i;
                if (endOfStream) { // a gRPC answer always ends with trailers
                    holder.connection.finish(streamId, Status.IO_ERROR, -1);
                }
            }
            return n + padding; // bytes handed back to the flow controller: the window refills
        }

        @Override
        public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
                boolean endOfStream) {
            Call call = holder.connection.calls.get(streamId);
            if (call == null) {
                return;
            }
            if (!call.headersRead) {
                call.headersRead = true;
                CharSequence status = headers.status();
                if (status == null || !AsciiString.contentEquals(status, "200")) {
                    holder.connection.finish(streamId, Status.IO_ERROR, -1);
                    return;
                }
            }
            if (endOfStream) { // the trailers, or a trailers-only answer
                holder.connection.finish(streamId, statusOf(headers, call, holder.connection.minOkMessageBytes),
                        retryAfter(headers));
            }
        }

        @Override
        public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int streamDependency,
                short weight, boolean exclusive, int padding, boolean endOfStream) {
            onHeadersRead(ctx, streamId, headers, padding, endOfStream);
        }

        @Override
        public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
            holder.connection.finish(streamId, Status.IO_ERROR, -1);
        }

        /**
         * The call's {@link Status}; an OK whose bytes do not match the message's length prefix, or whose message
         * is shorter than {@code minOkMessageBytes} (an answer that cannot hold the outputs), is an I/O error.
         */
        static int statusOf(Http2Headers trailers, Call call, long minOkMessageBytes) {
            CharSequence value = trailers.get(GRPC_STATUS);
            if (value == null) {
                return Status.IO_ERROR;
            }
            int code;
            try {
                code = Integer.parseInt(value.toString());
            } catch (NumberFormatException e) {
                return Status.IO_ERROR;
            }
            if (code == 0 && (call.bytes != 5 + call.declared || call.declared < minOkMessageBytes)) {
                return Status.IO_ERROR;
            }
            return Status.ofGrpc(io.grpc.Status.fromCodeValue(code).getCode());
        }

        /** The RetryInfo delay in ns from {@code grpc-status-details-bin}; -1 when there is none. */
        private static long retryAfter(Http2Headers trailers) {
            CharSequence details = trailers.get(GRPC_DETAILS);
            if (details == null) {
                return -1;
            }
            try {
                return GrpcClient.retryDelayNanos(com.google.rpc.Status.parseFrom(
                        Base64.getDecoder().decode(details.toString())));
            } catch (com.google.protobuf.InvalidProtocolBufferException | IllegalArgumentException e) {
                return -1;
            }
        }
    }
}
