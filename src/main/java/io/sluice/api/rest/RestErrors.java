package io.sluice.api.rest;

import io.sluice.inference.InferenceException;
import io.sluice.inference.RequestValidation;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;
import jakarta.ws.rs.NotAllowedException;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.Map;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/**
 * The one REST error mapper: {@link InferenceException} to status, {@code {"error": ...}} body and
 * headers, as in the README's "Errors" table, and the same body on what Quarkus REST answers itself (404 for
 * a path no endpoint has, 405 for a method a path does not take, with the {@code Allow} header naming the methods it
 * takes). A client mistake is never a 500.
 */
public class RestErrors {

    private static final Logger LOG = Logger.getLogger(RestErrors.class);

    @ConfigProperty(name = "quarkus.http.root-path", defaultValue = "/")
    String rootPath;

    @ServerExceptionMapper
    public Response map(InferenceException e) {
        Response.ResponseBuilder response = Response.status(status(e))
                .type(MediaType.APPLICATION_JSON_TYPE)
                .entity(Map.of("error", bounded(e.getMessage())));
        if (e instanceof InferenceException.Unavailable u) {
            response.header(RestHeaders.RETRY_AFTER, Math.max(1, ceilSeconds(u.retryAfter())));
        } else if (e instanceof InferenceException.RateLimited r) {
            response.header(RestHeaders.RETRY_AFTER, r.state().retryAfterSeconds());
            RestHeaders.rateLimit(response, r.state());
        } else if (e instanceof InferenceException.Unauthenticated) {
            response.header(RestHeaders.WWW_AUTHENTICATE, "Bearer");
        }
        if (e instanceof InferenceException.RuntimeFailure) {
            LOG.warn(e.getMessage(), e.getCause());
        }
        return response.build();
    }

    /** The most characters of an error message a body carries: one quoting a client's 100 KB name is cut. */
    static final int MAX_MESSAGE_CHARS = 4096;

    /** {@code message} cut to {@link #MAX_MESSAGE_CHARS}, ending in an ellipsis when cut, never in half a character. */
    static String bounded(String message) {
        if (message == null || message.length() <= MAX_MESSAGE_CHARS) {
            return message;
        }
        return prefix(message, MAX_MESSAGE_CHARS - 1) + "\u2026";
    }

    /** The first {@code chars} characters of {@code text} (shorter than it), one fewer rather than half a character. */
    static String prefix(String text, int chars) {
        return text.substring(0, Character.isHighSurrogate(text.charAt(chars - 1)) ? chars - 1 : chars);
    }

    /**
     * What Quarkus REST answers itself (404 for a path no endpoint has, 405 for a method a path does not take),
     * with the API's {@code {"error": ...}} body instead of an HTML page or an empty one.
     */
    @ServerExceptionMapper({NotFoundException.class, NotAllowedException.class})
    public Response map(WebApplicationException e, HttpServerRequest request, RoutingContext routing) {
        Response original = e.getResponse();
        Response.ResponseBuilder response = Response.fromResponse(original)
                .type(MediaType.APPLICATION_JSON_TYPE)
                .entity(Map.of("error", describe(original.getStatus(), request)));
        String template = RouteTemplate.of(routing.normalizedPath(), rootPath);
        if (original.getStatus() == 405 && !template.equals(RouteTemplate.UNMATCHED)) {
            response.header(HttpHeaders.ALLOW, RouteTemplate.allow(template)); // RFC 9110 requires it on a 405
        }
        return response.build();
    }

    /**
     * Any other refusal Quarkus REST makes itself before Sluice reads the request (a {@code Content-Type} that is
     * not a media type: 400), with the API's {@code {"error": ...}} body naming it; a 413 is left as it is (see
     * {@link RestBodyLimit}, which counts the REST layer's own 413 by its missing content type).
     */
    @ServerExceptionMapper
    public Response mapOther(WebApplicationException e, HttpServerRequest request) {
        Response original = e.getResponse();
        if (original.getStatus() == 413 || original.getStatus() < 400) {
            return original;
        }
        return Response.fromResponse(original)
                .type(MediaType.APPLICATION_JSON_TYPE)
                .entity(Map.of("error", refusal(original.getStatus(), request)))
                .build();
    }

    static String refusal(int status, HttpServerRequest request) {
        String contentType = request.getHeader("Content-Type");
        if (status == 400 && contentType != null && !isMediaType(contentType)) {
            return "Content-Type '" + RequestValidation.cut(contentType)
                    + "' is not a media type (type/subtype, such as application/json)";
        }
        Response.Status known = Response.Status.fromStatusCode(status);
        return bounded(status + " " + (known == null ? "" : known.getReasonPhrase()) + ": " + request.method() + " "
                + request.path());
    }

    private static boolean isMediaType(String header) {
        try {
            MediaType.valueOf(header);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    static String describe(int status, HttpServerRequest request) {
        String where = request.method() + " " + request.path();
        return bounded((status == 405 ? "method not allowed: " : "no such endpoint: ") + where);
    }

    private static long ceilSeconds(java.time.Duration d) {
        return d.getSeconds() + (d.getNano() > 0 ? 1 : 0); // no rounding that wraps near Long.MAX_VALUE nanoseconds
    }

    static int status(InferenceException e) {
        if (e instanceof InferenceException.Unauthenticated) {
            return 401;
        } else if (e instanceof InferenceException.RateLimited) {
            return 429;
        } else if (e instanceof InferenceException.ModelNotFound) {
            return 404;
        } else if (e instanceof InferenceException.InvalidInput i) {
            return switch (i.kind()) {
                case CONTENTS -> 400;
                case TOO_LARGE -> 413;
                case UNSUPPORTED_ENCODING -> 415;
            };
        } else if (e instanceof InferenceException.Unavailable) {
            return 503;
        } else if (e instanceof InferenceException.DeadlineExceeded) {
            return 504;
        }
        return 500;
    }
}
