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

/**
 * Authenticates every HTTP request before it reaches a handler: the inference API when
 * {@code sluice.auth.enabled}, and the management endpoints ({@code /q/*}, {@code /v2/health/*}) only
 * when {@code sluice.auth.management} is on too. The caller's {@link Tenant} travels on the routing
 * context. gRPC calls (which share the port: a gRPC content type on a gRPC method's path) are left to
 * {@code api.grpc.GrpcAuthentication}.
 */
@ApplicationScoped
public class RestAuthentication {

    /** Routing-context key of the caller's tenant. */
    static final String TENANT = "sluice.tenant";

    @Inject
    Tenants tenants;

    void register(@Observes Filters filters) {
        if (tenants.enabled()) {
            filters.register(this::filter, 100);
        }
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
        boolean management = path.startsWith("/q/") || path.startsWith("/v2/health");
        if (management && !tenants.managementProtected()) {
            context.next();
            return;
        }
        try {
            context.put(TENANT, tenants.authenticate(context.request().headers().getAll(RestHeaders.AUTHORIZATION),
                    context.request().headers().getAll(RestHeaders.API_KEY), Protocol.REST));
        } catch (InferenceException.Unauthenticated e) {
            context.response().setStatusCode(401)
                    .putHeader(RestHeaders.WWW_AUTHENTICATE, "Bearer")
                    .putHeader("Content-Type", "application/json")
                    .end(new JsonObject().put("error", e.getMessage()).encode());
            return;
        }
        context.next();
    }
}
