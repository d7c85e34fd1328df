package io.sluice.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import redis.embedded.RedisServer;

/**
 * A real redis-server (the binary {@code com.github.codemonstur:embedded-redis} ships) on 127.0.0.1 and a
 * given port, no persistence. It can be stopped and started again on the same port: an outage.
 */
final class RedisProcess implements AutoCloseable {
    private final int port;
    private RedisServer server;

    RedisProcess(int port) {
        this.port = port;
    }

    int port() {
        return port;
    }

    /** Starts the server (again) and waits until it accepts connections; does nothing while it runs. */
    synchronized void up() {
        if (server != null) {
            return;
        }
        try {
            RedisServer s = RedisServer.newRedisServer().bind(Settings.HOST).port(port)
                    .setting("save \"\"").setting("appendonly no").onShutdownForceStop(true).build();
            s.start();
            server = s;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Stops the server: clients see connection failures until {@link #up()}. */
    synchronized void down() {
        if (server == null) {
            return;
        }
        try {
            server.stop();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            server = null;
        }
    }

    @Override
    public void close() {
        down();
    }
}
