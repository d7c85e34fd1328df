package io.sluice.api;

import io.micrometer.core.instrument.Counter;
import io.quarkus.vertx.http.runtime.filters.Filters;
import io.sluice.config.SluiceConfig;
import io.sluice.observability.SluiceMetrics;
import io.vertx.core.buffer.Buffer;
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
 * Asks a client to reconnect once its connection reaches {@code sluice.server.max-connection-age}, much as grpc-java's
 * {@code maxConnectionAge} does: a Kubernetes Service balances connections, not requests, so without this a gRPC
 * client (or an HTTP/1.1 keep-alive pool) stays on the replicas it first reached and those the autoscaler adds get
 * none of its calls. Unlike grpc-java's, the age counts from the connection's first request and is acted on at its
 * first request past the age (an idle connection carries nothing to balance), less or more by up to 10 % so that
 * connections opened together do not turn over together; and there is no grace period: the calls open on the
 * connection run to their end, and the client closes it.
 *
 * <p>On HTTP/2 that request is answered and the client gets gRPC's two-step GOAWAY (NO_ERROR), so that it opens a
 * new connection for its next call and no call already on its way is refused. On HTTP/1.1 the answer carries {@code
 * Connection: close} and the server closes the connection after it (leaving it to the client when the request's
 * body was not read, as for an early 429); a request pipelined behind that answer is closed unread, so that its
 * client may send it elsewhere.
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

    volatile LongSupplier clock = System::nanoTime;
    /** A factor in [1 − {@link #JITTER}, 1 + {@link #JITTER}) a connection. */
    volatile DoubleSupplier jitter = () -> ThreadLocalRandom.current().nextDouble(1 - JITTER, 1 + JITTER);

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
        Age age = connection == null ? Age.LIVE : age(connection);
        if (age == Age.ASKED && request.version() != HttpVersion.HTTP_2) {
            // a request pipelined behind the answer that said Connection: close: closed unread, so that its client
            // may send it again elsewhere (run here, its answer would be lost with the connection)
            connection.close();
            return;
        }
        if (age == Age.DUE) {
            if (request.version() == HttpVersion.HTTP_2) {
                goAway(connection);
                http2.increment();
            } else {
                request.response().headers().set(HttpHeaders.CONNECTION, HttpHeaders.CLOSE);
                // Vert.x keeps it open despite the header. A body still coming in (an answer before it was read: a
                // 401, 429 or 503) is left to the client, which closes as the header says: closing on unread data
                // would reset the connection and could lose the answer
                ctx.addEndHandler(answered -> {
                    if (request.isEnded() || withoutBody(request)) {
                        connection.close();
                    }
                });
                http1.increment();
            }
        }
        ctx.next();
    }

    /** Whether {@code request} declares no body: nothing of it can be left unread when the connection closes. */
    private static boolean withoutBody(HttpServerRequest request) {
        String length = request.getHeader(HttpHeaders.CONTENT_LENGTH);
        return request.getHeader(HttpHeaders.TRANSFER_ENCODING) == null && (length == null || length.trim().equals("0"));
    }

    /**
     * The two-step GOAWAY of gRPC servers: the first says "no new calls" while still taking any already on their
     * way (last stream 2^31 - 1), and once a PING comes back, which the client answers after everything it sent
     * before it, the second names the last call taken. So no call in flight is refused.
     */
    private static void goAway(HttpConnection connection) {
        connection.goAway(0, Integer.MAX_VALUE);
        connection.ping(Buffer.buffer(new byte[8])).onComplete(pong -> {
            if (pong.succeeded()) {
                connection.goAway(0); // last stream: the highest the client opened
            }
        });
    }

    /** Where a connection is in its life, as a request on it finds it. */
    enum Age {
        /** Younger than its age (or seen for the first time). */
        LIVE,
        /** Past its age, and this is its first request since: ask the client to go. */
        DUE,
        /** Asked to go already. */
        ASKED
    }

    /** Where {@code connection} is now; a connection seen for the first time gets its deadline. */
    Age age(Object connection) {
        long now = clock.getAsLong();
        synchronized (deadlines) {
            Long deadline = deadlines.get(connection);
            if (deadline == null) {
                deadlines.put(connection, now + (long) (maxAgeNanos * jitter.getAsDouble()));
                return Age.LIVE;
            }
            if (deadline == ASKED) {
                return Age.ASKED;
            }
            if (now - deadline < 0) {
                return Age.LIVE;
            }
            deadlines.put(connection, ASKED);
            return Age.DUE;
        }
    }
}
