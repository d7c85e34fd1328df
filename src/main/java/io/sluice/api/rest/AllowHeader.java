package io.sluice.api.rest;

import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * The {@code Allow} header of an {@code OPTIONS} answer under {@code /v2}: the methods the path takes ({@link
 * RouteTemplate#allow}), where the REST layer listed every method of the resource class on every path. The answer
 * stays the REST layer's; only its header is set, as it goes out. On a path no endpoint has, which the REST layer
 * answered 200 with every method of its resource, the answer is a 404 naming the path, as a {@code GET} there gets.
 * A 405's {@code Allow} is set by {@link RestErrors}.
 */
@ApplicationScoped
public class AllowHeader {

    /** Just before {@link RestBodyLimit}. */
    static final int ORDER = RestBodyLimit.ORDER - 1;

    @ConfigProperty(name = "quarkus.http.root-path", defaultValue = "/")
    String rootPath;

    void register(@Observes Router router) {
        router.route(HttpMethod.OPTIONS, "/v2/*").order(ORDER).handler(this::options);
    }

    void options(RoutingContext ctx) {
        String template = RouteTemplate.of(ctx.normalizedPath(), rootPath);
        if (template.equals(RouteTemplate.UNMATCHED)) {
            // the REST layer answers 200 with its resource's methods on any path under its /v2, endpoint or not
            RouteTemplate.tag(ctx, rootPath);
            ctx.response().setStatusCode(404).putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                    .end(new JsonObject().put("error", RestErrors.describe(404, ctx.request())).encode());
            return;
        }
        String allow = RouteTemplate.allow(template);
        ctx.addHeadersEndHandler(v -> {
            HttpServerResponse response = ctx.response();
            if (response.headers().contains(HttpHeaders.ALLOW)) { // the REST layer's answer, not a 401's
                response.headers().set(HttpHeaders.ALLOW, allow);
            }
        });
        ctx.next();
    }
}
