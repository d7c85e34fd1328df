package io.sluice.api.rest;

import io.quarkus.runtime.configuration.MemorySize;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Refuses a REST request whose {@code Content-Length} is over {@code quarkus.http.limits.max-body-size}
 * with 413 and the API's {@code {"error": ...}} body naming both sizes and the setting, before a byte of
 * the body is read. Quarkus's own check, one route later, would answer the same status with an empty
 * body. A body sent without a length (chunked) is still counted by Quarkus as it arrives and refused
 * with its bare 413. Over HTTP/1.x the connection is closed after the answer, since the unread body
 * would otherwise be taken for the next request.
 */
@ApplicationScoped
public class RestBodyLimit {

    /** Just before Quarkus's own check (order -2), after the authentication filter. */
    static final int ORDER = -3;

    @ConfigProperty(name = "quarkus.http.limits.max-body-size", defaultValue = "10240K")
    MemorySize limit;

    void register(@Observes Router router) {
        router.route("/v2/*").order(ORDER).handler(this::check);
    }

    void check(RoutingContext ctx) {
        HttpServerRequest request = ctx.request();
        long length = length(request.getHeader(HttpHeaders.CONTENT_LENGTH));
        long max = limit.asLongValue();
        if (length <= max) {
            ctx.next();
            return;
        }
        if (request.version() != HttpVersion.HTTP_2) {
            ctx.response().putHeader(HttpHeaders.CONNECTION, "close")
                    .endHandler(v -> request.connection().close()); // the body is never read
        }
        ctx.response().setStatusCode(413)
                .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                .end(new JsonObject().put("error", message(length, max)).encode());
    }

    static String message(long length, long max) {
        return "request body of " + length + " bytes is larger than the server's limit of " + max
                + " bytes (quarkus.http.limits.max-body-size)";
    }

    /** The declared length; -1 when there is none or it is not a number (the HTTP server judges those). */
    static long length(String header) {
        if (header == null) {
            return -1;
        }
        try {
            return Long.parseLong(header.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
