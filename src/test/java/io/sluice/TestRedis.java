package io.sluice;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import redis.embedded.RedisServer;

/**
 * A real redis-server for tests, started by the test itself on 127.0.0.1 and a free port: the binary
 * that {@code com.github.codemonstur:embedded-redis} ships. It can be stopped and started again on the
 * same port, as an outage.
 */
public final class TestRedis implements AutoCloseable {

    private final int port;
    private final String[] settings;
    private RedisServer server;

    private TestRedis(int port, String... settings) {
        this.port = port;
        this.settings = settings;
    }

    /** Starts a server on a free port. */
    public static TestRedis start() {
        return startWith();
    }

    /** Starts a server on a free port with these lines of redis.conf besides (such as {@code requirepass s3cret}). */
    public static TestRedis startWith(String... settings) {
        TestRedis redis = new TestRedis(freePort(), settings);
        redis.up();
        return redis;
    }

    /** The port it listens on. */
    public int port() {
        return port;
    }

    /** {@code redis://127.0.0.1:<port>}. */
    public String uri() {
        return "redis://127.0.0.1:" + port;
    }

    /** Starts the server (again); does nothing while it runs. */
    public synchronized void up() {
        if (server != null) {
            return;
        }
        try {
            var builder = RedisServer.newRedisServer().bind("127.0.0.1").port(port)
                    .setting("save \"\"").setting("appendonly no");
            for (String setting : settings) {
                builder.setting(setting);
            }
            server = builder.build();
            server.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Stops the server; clients see connection failures until {@link #up()}. */
    public synchronized void down() {
        try {
            if (server != null) {
                server.stop();
                server = null;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        down();
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
