package io.sluice.api.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Deadline;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.quarkus.grpc.GlobalInterceptor;
import io.sluice.inference.InferRequest;
import io.sluice.inference.RequestValidation;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.concurrent.TimeUnit;

/**
 * Gives each call on the grpc-java side its deadline on the {@link System#nanoTime()} scale. A server
 * that sets the gRPC {@link Context}'s deadline gives it; Quarkus's Vert.x bridge does not, and nothing
 * on it reads {@code grpc-timeout}, but it passes the header on in the metadata, from which it is read
 * here as the call starts. Without this a call through the bridge had no deadline on the server: every
 * method but {@code ModelInfer}, and the {@code ModelInfer} calls {@link ModelInferRoute} does not take
 * (not HTTP/2, another content type, a {@code grpc-encoding} other than identity or gzip, or every call
 * with {@code sluice.grpc.direct-infer=false}). A {@code grpc-timeout} that is not one (1 to 8 digits and
 * a unit) is refused with INVALID_ARGUMENT naming it, on any method.
 */
@GlobalInterceptor
@ApplicationScoped
public class CallDeadline implements ServerInterceptor {

    private static final Context.Key<Long> DEADLINE = Context.key("sluice-call-deadline");
    private static final Metadata.Key<String> TIMEOUT = Metadata.Key.of("grpc-timeout", Metadata.ASCII_STRING_MARSHALLER);

    /** The current call's deadline, or {@link InferRequest#NO_DEADLINE}. */
    static long current() {
        Deadline deadline = Context.current().getDeadline();
        if (deadline != null) {
            return InferRequest.deadlineAfterNanos(System.nanoTime(), deadline.timeRemaining(TimeUnit.NANOSECONDS));
        }
        Long fromHeader = DEADLINE.get();
        return fromHeader == null ? InferRequest.NO_DEADLINE : fromHeader;
    }

    /** The description of the INVALID_ARGUMENT that refuses a {@code grpc-timeout} header that is not one. */
    static String notATimeout(String header) {
        return "grpc-timeout '" + RequestValidation.cut(header) + "' is not a gRPC timeout (1 to 8 digits and a unit: H, M, S, m, u or n)";
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String timeout = Context.current().getDeadline() == null ? headers.get(TIMEOUT) : null;
        if (timeout == null) { // none, or the server's own deadline already set
            return next.startCall(call, headers);
        }
        long nanos = GrpcWire.timeoutNanos(timeout);
        if (nanos < 0) {
            call.close(Status.INVALID_ARGUMENT.withDescription(notATimeout(timeout)), new Metadata());
            return new ServerCall.Listener<>() {};
        }
        long deadline = InferRequest.deadlineAfterNanos(System.nanoTime(), nanos);
        return Contexts.interceptCall(Context.current().withValue(DEADLINE, deadline), call, headers, next);
    }
}
