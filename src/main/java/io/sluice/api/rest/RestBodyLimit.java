package io.sluice.api.rest;

import io.quarkus.runtime.configuration.MemorySize;
import io.sluice.inference.InferenceException;
import io.sluice.inference.InferenceService;
import io.sluice.inference.Protocol;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Refuses a REST request whose {@code Content-Length} is over {@code quarkus.http.limits.max-body-size}
 * with 413 and the API's {@code {"error": ...}} body naming both sizes and the setting, before a byte of
 * the body is read. Quarkus's own check, one route later, would answer the same status with an empty
 * body. Over HTTP/1.x a body sent without a length (chunked) is read and counted here, and the REST
 * layer takes it from the routing context; past the limit it gets the same 413 (the REST layer's own
 * reader answered it with an empty body, and bodies smaller than its buffer were not counted at all). The
 * connection is then closed, since the unread body would otherwise be taken for the next request. Over
 * HTTP/2 a body is not read ahead (RESTEasy Reactive cannot start on a request already read), so one
 * without {@code content-length} is still counted by the REST layer's reader, whose 413 carried
 * {@code connection: close}, a header HTTP/2 forbids, and reached the client as a reset stream: that
 * header is taken off, so the client gets its 413. After a 413 with a body still coming, an HTTP/2
 * stream is reset with NO_ERROR, which asks the client to stop sending it (RFC 9113, section 8.1). A refused
 * inference request counts in {@code sluice_requests_total} as an invalid one of its model, here or, for
 * the REST layer's reader's 413 over HTTP/2, as its headers go out.
 */
@ApplicationScoped
public class RestBodyLimit {

    /** An inference path, its model name in group 1. */
    private static final Pattern INFER = Pattern.compile("/v2/models/([^/]+)(?:/versions/[^/]+)?/infer");

    @Inject
    InferenceService service;

    /** Just before Quarkus's own check (order -2), after the authentication filter. */
    static final int ORDER = -3;

    @ConfigProperty(name = "quarkus.http.limits.max-body-size", defaultValue = "10240K")
    MemorySize limit;

    @ConfigProperty(name = "quarkus.http.root-path", defaultValue = "/")
    String rootPath;

    /** Quarkus REST's input buffer, fixed at build time: a body read ahead past it reaches the REST layer as zeros. */
    @ConfigProperty(name = "quarkus.rest.input-buffer-size", defaultValue = "10K")
    MemorySize inputBuffer;

    void register(@Observes Router router) {
        String problem = problem(limit.asLongValue(), inputBuffer.asLongValue());
        if (problem != null) {
            throw new IllegalStateException("invalid configuration: " + problem);
        }
        router.route("/v2/*").order(ORDER).handler(this::check);
    }

    /**
     * Why a body limit of {@code max} cannot be served with an input buffer of {@code inputBuffer}, or null: a chunked
     * body up to the limit is read here and handed over whole, which Quarkus REST takes correctly only within its buffer.
     */
    static String problem(long max, long inputBuffer) {
        return max <= inputBuffer ? null
                : "quarkus.http.limits.max-body-size (" + max + " bytes) is above quarkus.rest.input-buffer-size ("
                        + inputBuffer + " bytes, fixed at build time), which a chunked body past it would reach the"
                        + " model as zeros through; build with quarkus.rest.input-buffer-size at least the body limit";
    }

    void check(RoutingContext ctx) {
        HttpServerRequest request = ctx.request();
        String declared = request.getHeader(HttpHeaders.CONTENT_LENGTH);
        long length = length(declared);
        long max = limit.asLongValue();
        if (declared == null && request.method() == HttpMethod.POST) {
            if (request.version() == HttpVersion.HTTP_2) {
                ctx.addHeadersEndHandler(v -> readersRefusal(ctx));
                ctx.next();
            } else {
                readCounting(ctx, max);
            }
            return;
        }
        if (length <= max) {
            ctx.next();
            return;
        }
        refuse(ctx, message(length, max));
    }

    /**
     * Reads a body sent without a length, counting it: past {@code max} the request is refused at once and
     * the rest is dropped as it arrives; whole, the body is handed to the REST layer through the routing
     * context. Vert.x's {@code BodyHandler} is not used for this: on a form content type (curl's default
     * for {@code -d}) it decodes the body as a form, whose fields it caps at 2 KiB.
     */
    private void readCounting(RoutingContext ctx, long max) {
        HttpServerRequest request = ctx.request();
        if (request.isEnded()) {
            ctx.setBody(Buffer.buffer());
            ctx.next();
            return;
        }
        Buffer body = Buffer.buffer();
        boolean[] refused = {false};
        request.handler(chunk -> {
            if (refused[0]) {
                return;
            }
            if ((long) body.length() + chunk.length() > max) {
                refused[0] = true;
                refuse(ctx, message(max));
            } else {
                body.appendBuffer(chunk);
            }
        });
        request.endHandler(v -> {
            if (!refused[0]) {
                ctx.setBody(body);
                ctx.next();
            }
        });
        request.exceptionHandler(e -> { }); // the client went away mid-body: nobody to answer
        if (request.version() != HttpVersion.HTTP_1_0
                && "100-continue".equalsIgnoreCase(request.getHeader(HttpHeaders.EXPECT))) {
            // the client holds the body back until told (curl -T - waits a second; others until they give up): the
            // REST layer's reader would say it, but this reads the body instead
            ctx.response().writeContinue();
            request.headers().remove(HttpHeaders.EXPECT); // told once: the REST layer would say it again as it reads
        }
        request.resume();
    }

    /**
     * Just before the headers of an HTTP/2 answer to a body without a length go out: takes off the
     * {@code connection: close} of the REST layer's reader's 413, which HTTP/2 forbids, and counts that 413 as
     * a refused request of its model. The reader's 413 is the one without a content type: Sluice's own
     * (a BYTES count, a compressed body inflating past the limit) carry the API's JSON and are counted where
     * they are made.
     */
    private void readersRefusal(RoutingContext ctx) {
        HttpServerResponse response = ctx.response();
        response.headers().remove(HttpHeaders.CONNECTION);
        if (response.getStatusCode() == 413 && response.headers().get(HttpHeaders.CONTENT_TYPE) == null) {
            count(ctx, message(limit.asLongValue()), service); // routed: its meters have the template already
        }
    }

    /**
     * Answers 413 with {@code error}; an inference request is counted as a refused one of its model. The answer
     * comes before routing, so its HTTP meters are tagged with the route's template, not the raw path (see
     * {@link RouteTemplate}).
     */
    private void refuse(RoutingContext ctx, String error) {
        HttpServerRequest request = ctx.request();
        RouteTemplate.tag(ctx, rootPath);
        count(ctx, error, service);
        HttpServerResponse response = ctx.response();
        if (request.version() != HttpVersion.HTTP_2) {
            response.putHeader(HttpHeaders.CONNECTION, "close");
            // the rest of the body is never read; through the routing context, whose end handlers share the
            // response's one slot (response.endHandler would drop those others registered, ConnectionAge's)
            ctx.addEndHandler(v -> request.connection().close());
        }
        response.setStatusCode(413)
                .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                .end(new JsonObject().put("error", error).encode());
        if (request.version() == HttpVersion.HTTP_2 && !request.isEnded()) {
            response.reset(0); // NO_ERROR after a whole answer: stop sending the body
        }
    }

    /** Counts a body refused for its size as an invalid request of its model, if it is an inference request. */
    private static void count(RoutingContext ctx, String error, InferenceService service) {
        HttpServerRequest request = ctx.request();
        Matcher infer = INFER.matcher(request.path());
        if (request.method() == HttpMethod.POST && infer.matches()) {
            service.turnedAway(RestAuthentication.tenant(ctx), model(infer.group(1)), Protocol.REST,
                    new InferenceException.InvalidInput(error, InferenceException.InvalidInput.Kind.TOO_LARGE));
        }
    }

    /** A model name from a path, decoded as the REST layer decodes it; one that does not decode is counted as it is. */
    static String model(String encoded) {
        try {
            return URLDecoder.decode(encoded.replace("+", "%2B"), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) { // a stray %: Vert.x answers such a path 400 before this runs
            return encoded;
        }
    }

    /** The refusal of a body sent without a length, past {@code max}. */
    static String message(long max) {
        return "request body is larger than the server's limit of " + max + " bytes (quarkus.http.limits.max-body-size)";
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
