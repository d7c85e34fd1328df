package io.sluice;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpVersion;
import java.util.concurrent.TimeUnit;

/** HTTP/2 clients the way gRPC clients connect: cleartext, with prior knowledge (no HTTP/1.1 upgrade). */
public final class Http2Clients {

    private Http2Clients() {}

    /** A client on {@code vertx}; {@link #close} it after. */
    public static HttpClient priorKnowledge(Vertx vertx) {
        return priorKnowledge(vertx, new HttpClientOptions());
    }

    /** A client on {@code vertx} with {@code options}, made HTTP/2 with prior knowledge. */
    public static HttpClient priorKnowledge(Vertx vertx, HttpClientOptions options) {
        return vertx.createHttpClient(options.setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false));
    }

    /** Closes {@code client}, waiting up to 5 s. */
    public static void close(HttpClient client) throws Exception {
        client.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }
}
