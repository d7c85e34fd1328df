package io.sluice.api.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.quarkus.grpc.GlobalInterceptor;
import io.sluice.admission.Tenant;
import io.sluice.admission.Tenants;
import io.sluice.inference.InferenceException;
import io.sluice.inference.Protocol;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.Set;

/**
 * Authenticates gRPC calls from the {@code authorization: Bearer <key>} or {@code x-api-key}
 * metadata, as REST does from its headers: UNAUTHENTICATED without a known key while auth is on.
 * ServerLive and ServerReady, and the standard {@code grpc.health.v1.Health} service on the same port
 * (what a Kubernetes gRPC probe calls), are health endpoints and follow {@code sluice.auth.management}.
 * Methods are matched by their full names, so another service's {@code ServerLive} is not exempt. The
 * caller's {@link Tenant} travels in the gRPC context.
 */
@GlobalInterceptor
@ApplicationScoped
public class GrpcAuthentication implements ServerInterceptor {

    private static final Context.Key<Tenant> TENANT = Context.key("sluice-tenant");
    private static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    private static final Metadata.Key<String> API_KEY = Metadata.Key.of(Tenants.API_KEY_HEADER, Metadata.ASCII_STRING_MARSHALLER);
    private static final Set<String> HEALTH_METHODS = Set.of(
            "inference.GRPCInferenceService/ServerLive", "inference.GRPCInferenceService/ServerReady");
    private static final String HEALTH_SERVICE = "grpc.health.v1.Health";

    @Inject
    Tenants tenants;

    /** The current call's tenant; anonymous when authentication is off. */
    static Tenant tenant() {
        Tenant tenant = TENANT.get();
        return tenant == null ? Tenant.ANONYMOUS : tenant;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        if (!tenants.enabled()
                || (health(call.getMethodDescriptor()) && !tenants.managementProtected())) {
            return next.startCall(call, headers);
        }
        Tenant tenant;
        try {
            tenant = tenants.authenticate(all(headers, AUTHORIZATION), all(headers, API_KEY), Protocol.GRPC);
        } catch (InferenceException.Unauthenticated e) {
            call.close(Status.UNAUTHENTICATED.withDescription(e.getMessage()), new Metadata());
            return new ServerCall.Listener<>() {};
        }
        return Contexts.interceptCall(Context.current().withValue(TENANT, tenant), call, headers, next);
    }

    /** Every value of {@code key} in {@code headers}, in order; empty if none. */
    private static java.util.List<String> all(Metadata headers, Metadata.Key<String> key) {
        Iterable<String> values = headers.getAll(key);
        java.util.List<String> list = new java.util.ArrayList<>(1);
        if (values != null) {
            values.forEach(list::add);
        }
        return list;
    }

    /** A health endpoint: ServerLive, ServerReady, or any method of the standard health service. */
    static boolean health(MethodDescriptor<?, ?> method) {
        return HEALTH_METHODS.contains(method.getFullMethodName()) || HEALTH_SERVICE.equals(method.getServiceName());
    }
}
