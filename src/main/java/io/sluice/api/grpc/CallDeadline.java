package io.sluice.api.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Deadline;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.quarkus.grpc.GlobalInterceptor;
import io.sluice.inference.InferRequest;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.concurrent.TimeUnit;

/**
 * Gives each call on the grpc-java side its deadline on the {@link System#nanoTime()} scale. A server
 * that sets the gRPC {@link Context}'s deadline gives it; Quarkus's Vert.x bridge does not, but passes
 * the {@code grpc-timeout} header on in the metadata, from which it is read here as the call starts.
 * Without this a call through the bridge ({@code sluice.grpc.direct-infer=false}, or an encoding other
 * than gzip) had no deadline: its queue wait was unbounded on the server, and the client's cancellation
 * at its deadline was counted as a plain cancellation.
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

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String timeout = Context.current().getDeadline() == null ? headers.get(TIMEOUT) : null;
        long nanos = timeout == null ? -1 : GrpcWire.timeoutNanos(timeout);
        if (nanos < 0) { // none, the server's own, or unreadable (grpc-java would refuse that one itself)
            return next.startCall(call, headers);
        }
        long deadline = InferRequest.deadlineAfterNanos(System.nanoTime(), nanos);
        return Contexts.interceptCall(Context.current().withValue(DEADLINE, deadline), call, headers, next);
    }
}
