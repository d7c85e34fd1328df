package io.sluice.api;

import io.micrometer.core.instrument.Counter;
import io.quarkus.vertx.http.runtime.filters.Filters;
import io.sluice.config.SluiceConfig;
import io.sluice.observability.SluiceMetrics;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.DoubleSupplier;
import java.util.function.LongSupplier;

/**
 * Asks a client to reconnect once its connection reaches {@code sluice.server.max-connection-age}, as grpc-java's
 * {@code maxConnectionAge} does: a Kubernetes Service balances connections, not requests, so without this a gRPC
 * client (or an HTTP/1.1 keep-alive pool) stays on the replicas it first reached and those the autoscaler adds get
 * none of its calls. The first request on a connection past its age gets {@code Connection: close} on HTTP/1.1 (the
 * connection closes after that answer) and a GOAWAY (NO_ERROR) on HTTP/2, which lets every call already open on the
 * connection, that request's included, finish; a gRPC client opens a new connection for its next call, and one that
 * sent a call in the meantime has it refused unprocessed (REFUSED_STREAM), which gRPC clients retry on their own, as
 * at Quarkus's graceful shutdown. An idle connection is left alone: it carries nothing to balance. The age of a
 * connection counts from its first request, less or more by up to 10 % so that connections opened together do not
 * turn over together.
 */
@Singleton // no client proxy: tests set the clock on the instance itself
public class ConnectionAge {

    /** The deadline of a connection already asked to go. */
    private static final long ASKED = Long.MIN_VALUE;

    /** Spread of each connection's age around the configured one, as grpc-java's ±10 %. */
    static final double JITTER = 0.1;

    @Inject
    SluiceConfig config;

    @Inject
    SluiceMetrics metrics;

    /** Each connection's deadline on {@link #clock}; weak, so a closed connection leaves with its last reference. */
    private final Map<Object, Long> deadlines = new WeakHashMap<>();

    long maxAgeNanos;
    private Counter http1;
    private Counter http2;

    LongSupplier clock = System::nanoTime;
    /** A factor in [1 − {@link #JITTER}, 1 + {@link #JITTER}) a connection. */
    DoubleSupplier jitter = () -> ThreadLocalRandom.current().nextDouble(1 - JITTER, 1 + JITTER);

    void register(@Observes Filters filters) {
        config.server().maxConnectionAge().ifPresent(age -> {
            maxAgeNanos = age.toNanos();
            http1 = metrics.connectionsAged("1.1");
            http2 = metrics.connectionsAged("2");
            filters.register(this::filter, 200); // ahead of every other filter and route, gRPC's too
        });
    }

    void filter(RoutingContext ctx) {
        HttpServerRequest request = ctx.request();
        HttpConnection connection = request.connection();
        if (connection != null && expired(connection)) {
            if (request.version() == HttpVersion.HTTP_2) {
                connection.goAway(0); // last stream: the highest the client opened, this request's at least
                http2.increment();
            } else {
                request.response().headers().set(HttpHeaders.CONNECTION, HttpHeaders.CLOSE);
                ctx.addEndHandler(answered -> connection.close()); // Vert.x keeps it open despite the header
                http1.increment();
            }
        }
        ctx.next();
    }

    /**
     * Whether {@code connection} has just passed its age: true once, for its first request past it. A connection
     * seen for the first time gets its deadline.
     */
    boolean expired(Object connection) {
        long now = clock.getAsLong();
        synchronized (deadlines) {
            Long deadline = deadlines.get(connection);
            if (deadline == null) {
                deadlines.put(connection, now + (long) (maxAgeNanos * jitter.getAsDouble()));
                return false;
            }
            if (deadline == ASKED || now - deadline < 0) {
                return false;
            }
            deadlines.put(connection, ASKED);
            return true;
        }
    }
}
