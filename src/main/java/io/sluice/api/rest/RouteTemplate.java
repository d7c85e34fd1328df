package io.sluice.api.rest;

import io.quarkus.micrometer.runtime.binder.vertx.HttpRequestMetric;
import io.vertx.core.http.impl.HttpServerRequestInternal;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The route template of a REST path, for the {@code uri} tag of Quarkus's {@code http_server_requests} meters on a
 * 401 that {@link RestAuthentication} gives before routing, and a 413 of {@link RestBodyLimit}, and the methods it
 * takes, for {@link AllowHeader}. Quarkus tags such
 * an answer with its raw path, so keyless requests to {@code /v2/models/a1/infer}, {@code a2}, ... made a series
 * each, until its {@code max-uri-tags} cap dropped the new {@code uri} values of real routes too.
 */
final class RouteTemplate {

    /** The tag of a path that is none of the API's routes (Quarkus starts every template with a slash). */
    static final String UNMATCHED = "/UNMATCHED";

    private record Route(Pattern path, String template) {}

    private static final List<Route> ROUTES = routes();

    /** The templates whose one method is POST; every other template's is GET. */
    private static final Set<String> POSTED = Set.of("/v2/repository/index",
            "/v2/repository/models/{model}/{action: load|unload}", "/v2/models/{model}/infer",
            "/v2/models/{model}/versions/{version}/infer");

    private RouteTemplate() {}

    private static List<Route> routes() {
        List<Route> routes = new ArrayList<>();
        for (String fixed : List.of("/v2", "/v2/health/live", "/v2/health/ready", "/v2/models/stats",
                "/v2/repository/index")) {
            routes.add(new Route(Pattern.compile(Pattern.quote(fixed)), fixed));
        }
        // as the REST layer spells its template: the path parameter's regex stays in it
        routes.add(new Route(Pattern.compile("/v2/repository/models/[^/]+/(load|unload)"),
                "/v2/repository/models/{model}/{action: load|unload}"));
        for (String suffix : List.of("", "/config", "/stats", "/ready", "/infer")) {
            routes.add(new Route(Pattern.compile("/v2/models/[^/]+" + Pattern.quote(suffix)),
                    "/v2/models/{model}" + suffix));
            routes.add(new Route(Pattern.compile("/v2/models/[^/]+/versions/[^/]+" + Pattern.quote(suffix)),
                    "/v2/models/{model}/versions/{version}" + suffix));
        }
        return List.copyOf(routes);
    }

    /**
     * Every template of the API, as {@link #of} gives them and as Quarkus's REST layer tags the routes it matched:
     * the resource's {@code @Path} and its method's, without {@code quarkus.http.root-path}.
     */
    static Set<String> templates() {
        Set<String> templates = new HashSet<>();
        for (Route route : ROUTES) {
            templates.add(route.template());
        }
        return Set.copyOf(templates);
    }

    /**
     * The methods {@code template} takes, as an {@code Allow} header lists them: its one method, {@code HEAD} with a
     * {@code GET} (the REST layer answers it from the {@code GET}), and {@code OPTIONS}.
     */
    static String allow(String template) {
        return POSTED.contains(template) ? "OPTIONS, POST" : "GET, HEAD, OPTIONS";
    }

    /** {@code quarkus.http.root-path} as a prefix: empty for {@code /}, else with one leading slash and none after. */
    private static String root(String rootPath) {
        String root = RestAuthentication.join("/", rootPath); // the one normalising of the root path
        return root.equals("/") ? "" : root;
    }

    /**
     * The template of {@code path} under {@code rootPath} ({@code quarkus.http.root-path}), without the root path as
     * the REST layer's own templates are, or {@link #UNMATCHED}. A trailing slash is the route's own, as the REST
     * layer matches it ({@code /v2/models/m/} is {@code /v2/models/m}); the router has collapsed doubled ones.
     */
    static String of(String path, String rootPath) {
        String root = root(rootPath);
        if (path == null || !path.startsWith(root + "/")) {
            return UNMATCHED;
        }
        String rest = path.substring(root.length());
        if (rest.length() > 1 && rest.endsWith("/")) {
            rest = rest.substring(0, rest.length() - 1); // the REST layer serves a path with one trailing slash as its route
        }
        for (Route route : ROUTES) {
            if (route.path().matcher(rest).matches()) {
                return route.template();
            }
        }
        return UNMATCHED;
    }

    /** Tags the request's HTTP server meters with {@code path}'s template, when Quarkus measures it. */
    static void tag(RoutingContext context, String rootPath) {
        if (context.request() instanceof HttpServerRequestInternal request
                && request.metric() instanceof HttpRequestMetric metric) {
            metric.setTemplatePath(of(context.normalizedPath(), rootPath));
        }
    }
}
