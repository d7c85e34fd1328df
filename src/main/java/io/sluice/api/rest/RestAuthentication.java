package io.sluice.api.rest;

import io.quarkus.vertx.http.runtime.filters.Filters;
import io.sluice.admission.Tenant;
import io.sluice.admission.Tenants;
import io.sluice.inference.InferenceException;
import io.sluice.inference.Protocol;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Authenticates every HTTP request before it reaches a handler: the inference API when
 * {@code sluice.auth.enabled}, and the management endpoints ({@code /q/*}, or wherever {@code
 * quarkus.http.non-application-root-path} puts them, and {@code /v2/health/*}) only when {@code
 * sluice.auth.management} is on too. The caller's {@link Tenant} travels on the routing
 * context. gRPC calls (which share the port: a gRPC content type on a gRPC method's path) are left to
 * {@code api.grpc.GrpcAuthentication}.
 */
@ApplicationScoped
public class RestAuthentication {

    /** Routing-context key of the caller's tenant. */
    static final String TENANT = "sluice.tenant";

    @Inject
    Tenants tenants;

    @ConfigProperty(name = "quarkus.http.root-path", defaultValue = "/")
    String rootPath;

    @ConfigProperty(name = "quarkus.http.non-application-root-path", defaultValue = "q")
    String nonApplicationRootPath;

    @ConfigProperty(name = "quarkus.smallrye-health.root-path", defaultValue = "health")
    String healthPath;

    @ConfigProperty(name = "quarkus.micrometer.export.prometheus.path", defaultValue = "metrics")
    String metricsPath;

    /** Where the management endpoints are: the OIP's health, and Quarkus's non-application endpoints. */
    private List<String> management = List.of();

    void register(@Observes Filters filters) {
        if (tenants.enabled()) {
            management = managementPrefixes(rootPath, nonApplicationRootPath, healthPath, metricsPath);
            filters.register(this::filter, 100);
        }
    }

    /**
     * The path prefixes of the management endpoints: {@code <root>/v2/health}; Quarkus's non-application root
     * ({@code /q} by default; relative to the root path unless it starts with {@code /}) when it is apart from the
     * API; and the health and Prometheus endpoints wherever their own settings put them. A non-application root
     * that holds the API itself ({@code /}, or the root path, as Quarkus's guide suggests for serving health beside
     * the application) is never a prefix: it would exempt every inference request from authentication. Then only
     * the health and metrics paths are.
     */
    static List<String> managementPrefixes(String rootPath, String nonApplicationRootPath, String healthPath,
            String metricsPath) {
        String root = join("/", rootPath);
        String nonApplication = nonApplicationRoot(rootPath, nonApplicationRootPath);
        List<String> prefixes = new ArrayList<>();
        prefixes.add(join(root, "v2/health"));
        if (!under(join(root, "v2"), nonApplication)) {
            prefixes.add(nonApplication);
        }
        for (String endpoint : List.of(healthPath, metricsPath)) {
            String path = endpointPath(rootPath, nonApplicationRootPath, endpoint);
            if (!prefixes.contains(path) && !under(join(root, "v2"), path)) {
                prefixes.add(path);
            }
        }
        return List.copyOf(prefixes);
    }

    /** Quarkus's non-application root: relative to the root path unless it starts with {@code /}. */
    private static String nonApplicationRoot(String rootPath, String nonApplicationRootPath) {
        return nonApplicationRootPath.startsWith("/") ? join("/", nonApplicationRootPath)
                : join(join("/", rootPath), nonApplicationRootPath);
    }

    /**
     * Where a non-application endpoint whose own setting is {@code endpoint} ({@code health}, {@code metrics}) is
     * served: under the non-application root, unless it starts with {@code /}.
     */
    static String endpointPath(String rootPath, String nonApplicationRootPath, String endpoint) {
        return endpoint.startsWith("/") ? join("/", endpoint)
                : join(nonApplicationRoot(rootPath, nonApplicationRootPath), endpoint);
    }

    /** {@code base} and {@code path} joined by one slash, without a trailing one ({@code /} alone stays). */
    static String join(String base, String path) {
        String joined = (base.endsWith("/") ? base : base + "/") + (path.startsWith("/") ? path.substring(1) : path);
        return joined.length() > 1 && joined.endsWith("/") ? joined.substring(0, joined.length() - 1) : joined;
    }

    /** Whether {@code path} is {@code prefix} or under it. */
    static boolean under(String path, String prefix) {
        if (prefix.endsWith("/")) {
            return path.startsWith(prefix); // the root: every path
        }
        return path.startsWith(prefix) && (path.length() == prefix.length() || path.charAt(prefix.length()) == '/');
    }

    /** The tenant the filter put on {@code context}; anonymous when authentication is off. */
    static Tenant tenant(RoutingContext context) {
        Tenant tenant = context == null ? null : context.get(TENANT);
        return tenant == null ? Tenant.ANONYMOUS : tenant;
    }

    /**
     * Whether {@code path} names a gRPC method, {@code /<package>.<Service>/<Method>}: a gRPC content type
     * alone must not take a request past this filter, or any REST resource could be reached without a key.
     */
    static boolean grpcMethod(String path) {
        int slash = path.indexOf('/', 1);
        return path.startsWith("/") && slash > 1 && path.lastIndexOf('/') == slash && slash < path.length() - 1
                && path.substring(1, slash).indexOf('.') > 0;
    }

    private void filter(RoutingContext context) {
        String path = context.normalizedPath();
        String contentType = context.request().getHeader("Content-Type");
        if (contentType != null && contentType.startsWith("application/grpc") && grpcMethod(path)) {
            context.next(); // GrpcAuthentication's (and ModelInferRoute's) to check
            return;
        }
        boolean management = false;
        for (String prefix : this.management) {
            management |= under(path, prefix);
        }
        if (management && !tenants.managementProtected()) {
            context.next();
            return;
        }
        try {
            context.put(TENANT, tenants.authenticate(context.request().headers().getAll(RestHeaders.AUTHORIZATION),
                    context.request().headers().getAll(RestHeaders.API_KEY), Protocol.REST));
        } catch (InferenceException.Unauthenticated e) {
            RouteTemplate.tag(context, rootPath); // not the raw path: a client could grow the uri tag without bound
            context.response().setStatusCode(401)
                    .putHeader(RestHeaders.WWW_AUTHENTICATE, "Bearer")
                    .putHeader("Content-Type", "application/json")
                    .end(new JsonObject().put("error", e.getMessage()).encode());
            return;
        }
        context.next();
    }
}
