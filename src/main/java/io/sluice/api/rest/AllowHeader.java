package io.sluice.api.rest;

import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * The {@code Allow} header of an {@code OPTIONS} answer under {@code /v2}: the methods the path takes ({@link
 * RouteTemplate#allow}), where the REST layer listed every method of the resource class on every path. The answer
 * stays the REST layer's; only its header is set, as it goes out. A 405's {@code Allow} is set by {@link RestErrors}.
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
        if (!template.equals(RouteTemplate.UNMATCHED)) {
            String allow = RouteTemplate.allow(template);
            ctx.addHeadersEndHandler(v -> {
                HttpServerResponse response = ctx.response();
                if (response.headers().contains(HttpHeaders.ALLOW)) { // the REST layer's answer, not a 401's
                    response.headers().set(HttpHeaders.ALLOW, allow);
                }
            });
        }
        ctx.next();
    }
}
