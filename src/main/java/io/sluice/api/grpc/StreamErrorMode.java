package io.sluice.api.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.quarkus.grpc.GlobalInterceptor;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * Reads Triton's {@code triton_grpc_error} header as a {@code ModelStreamInfer} stream starts. With it
 * {@code true} (in any case) the stream's first failed request ends the stream with that failure's gRPC
 * status, RetryInfo included; without it a failure is answered in the stream, which goes on (see {@link
 * StreamInfer}). Other methods ignore it. This reads it on the bridge; {@link ModelStreamRoute} reads the header itself.
 */
@GlobalInterceptor
@ApplicationScoped
public class StreamErrorMode implements ServerInterceptor {

    /** The header, as Triton's clients send it ({@code start_stream(..., headers={"triton_grpc_error": "true"})}). */
    static final Metadata.Key<String> HEADER = Metadata.Key.of("triton_grpc_error", Metadata.ASCII_STRING_MARSHALLER);
    private static final Context.Key<Boolean> ENDS_STREAM = Context.key("sluice-stream-error-ends-stream");

    /** Whether the current call asked for a failure to end the stream. */
    static boolean failureEndsStream() {
        return Boolean.TRUE.equals(ENDS_STREAM.get());
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        if (!"true".equalsIgnoreCase(headers.get(HEADER))) {
            return next.startCall(call, headers);
        }
        return Contexts.interceptCall(Context.current().withValue(ENDS_STREAM, true), call, headers, next);
    }
}
