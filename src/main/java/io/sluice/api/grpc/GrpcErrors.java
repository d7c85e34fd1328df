package io.sluice.api.grpc;

import com.google.protobuf.Any;
import com.google.protobuf.Duration;
import com.google.rpc.Code;
import com.google.rpc.RetryInfo;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.StatusException;
import io.grpc.protobuf.ProtoUtils;
import io.quarkus.grpc.ExceptionHandler;
import io.quarkus.grpc.ExceptionHandlerProvider;
import io.sluice.inference.InferenceException;
import jakarta.enterprise.context.ApplicationScoped;
import org.jboss.logging.Logger;

/**
 * The one gRPC error mapper: {@link InferenceException} to a status code with its message, as in the
 * README's "Errors" table; rejections the client should retry (UNAVAILABLE, and RESOURCE_EXHAUSTED for
 * a rate limit) carry {@code google.rpc.RetryInfo} and {@code grpc-retry-pushback-ms}. Anything else is INTERNAL and
 * logged.
 */
@ApplicationScoped
public class GrpcErrors implements ExceptionHandlerProvider {

    private static final Logger LOG = Logger.getLogger(GrpcErrors.class);

    /** Where gRPC carries a {@code google.rpc.Status} with details, as {@code StatusProto} writes it. */
    static final Metadata.Key<com.google.rpc.Status> STATUS_DETAILS = Metadata.Key.of("grpc-status-details-bin",
            ProtoUtils.metadataMarshaller(com.google.rpc.Status.getDefaultInstance()));
    /**
     * gRPC's own retry hint (gRFC A6), beside RetryInfo: a client whose channel retries (KServe's
     * InferenceGRPCClient retries UNAVAILABLE three times from 0.1 s by default) waits this long before its next
     * attempt, where it ignores RetryInfo and would come back within a few hundred milliseconds.
     */
    static final Metadata.Key<String> RETRY_PUSHBACK = Metadata.Key.of("grpc-retry-pushback-ms", Metadata.ASCII_STRING_MARSHALLER);

    @Override
    public <ReqT, RespT> ExceptionHandler<ReqT, RespT> createHandler(
            ServerCall.Listener<ReqT> listener, ServerCall<ReqT, RespT> call, Metadata metadata) {
        return new ExceptionHandler<>(listener, call, metadata) {
            @Override
            protected void handleException(Throwable t, ServerCall<ReqT, RespT> call, Metadata metadata) {
                StatusException e = toStatus(t);
                Metadata trailers = e.getTrailers() == null ? new Metadata() : e.getTrailers();
                call.close(e.getStatus(), trailers);
            }
        };
    }

    @Override
    public Throwable transform(Throwable t) {
        return toStatus(t);
    }

    /** The status for {@code t}, with RetryInfo details where the client should come back. */
    static StatusException toStatus(Throwable t) {
        if (t instanceof StatusException s) {
            return s;
        }
        if (t instanceof io.grpc.StatusRuntimeException s) {
            return s.getStatus().asException(s.getTrailers());
        }
        if (!(t instanceof InferenceException e)) {
            LOG.warn("unexpected failure on gRPC", t);
            return status(Code.INTERNAL, "internal error: " + t, null);
        }
        if (e instanceof InferenceException.Unauthenticated) {
            return status(Code.UNAUTHENTICATED, e.getMessage(), null);
        } else if (e instanceof InferenceException.RateLimited) {
            return status(Code.RESOURCE_EXHAUSTED, e.getMessage(), retryAfter(e));
        } else if (e instanceof InferenceException.ModelNotFound) {
            return status(Code.NOT_FOUND, e.getMessage(), null);
        } else if (e instanceof InferenceException.InvalidInput i) {
            return status(i.kind() == InferenceException.InvalidInput.Kind.TOO_LARGE ? Code.RESOURCE_EXHAUSTED
                    : Code.INVALID_ARGUMENT, e.getMessage(), null);
        } else if (e instanceof InferenceException.Unavailable) {
            return status(Code.UNAVAILABLE, e.getMessage(), retryAfter(e));
        } else if (e instanceof InferenceException.DeadlineExceeded) {
            return status(Code.DEADLINE_EXCEEDED, e.getMessage(), null);
        }
        LOG.warn(e.getMessage(), e.getCause());
        return status(Code.INTERNAL, e.getMessage(), null);
    }

    /** When the client should come back after {@code t}: a rate limit's or a full model's wait; null for other failures. */
    static java.time.Duration retryAfter(Throwable t) {
        if (t instanceof InferenceException.RateLimited r) {
            return r.state().retryAfter();
        }
        return t instanceof InferenceException.Unavailable u ? u.retryAfter() : null;
    }

    /** {@code retryAfter} in whole milliseconds, rounded up (a client told 0 would retry at once). */
    static long pushbackMillis(java.time.Duration retryAfter) {
        if (retryAfter.isNegative()) {
            return 0;
        }
        long seconds = retryAfter.getSeconds();
        if (seconds >= Long.MAX_VALUE / 1000 - 1) {
            return Long.MAX_VALUE; // no rounding that wraps
        }
        return seconds * 1000 + (retryAfter.getNano() + 999_999) / 1_000_000;
    }

    /**
     * Longest message a status carries, in UTF-8 bytes. It goes out twice in the trailers (as {@code grpc-message},
     * percent-encoded, up to 3 characters a byte, and inside {@code grpc-status-details-bin}, base64), and
     * grpc-java clients take about 8 KiB of headers: a message quoting a 10 KB model name would reach the client
     * as a reset stream, not as NOT_FOUND. Counted in bytes, since a character outside ASCII takes up to 4 of
     * them, each encoded as 3 characters.
     */
    static final int MAX_MESSAGE_BYTES = 1024;

    /** {@code message} cut to {@link #MAX_MESSAGE_BYTES} of UTF-8, ending in an ellipsis when cut. */
    static String bounded(String message) {
        if (message == null || message.length() <= MAX_MESSAGE_BYTES / 3) {
            return message; // fits however it encodes
        }
        int bytes = 0;
        int room = MAX_MESSAGE_BYTES - 3; // the ellipsis takes 3
        int end = 0;
        int cutAt = -1;
        while (end < message.length()) {
            int c = message.codePointAt(end);
            int n = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
            if (bytes + n > room && cutAt < 0) {
                cutAt = end; // never half a character
            }
            bytes += n;
            if (bytes > MAX_MESSAGE_BYTES) {
                return message.substring(0, cutAt) + "\u2026";
            }
            end += Character.charCount(c);
        }
        return message;
    }

    private static StatusException status(Code code, String text, java.time.Duration retryAfter) {
        String message = bounded(text);
        com.google.rpc.Status.Builder status = com.google.rpc.Status.newBuilder()
                .setCode(code.getNumber())
                .setMessage(message);
        if (retryAfter != null) {
            // whole milliseconds, rounded up as the pushback is: Redis's buckets refill by the millisecond, and a
            // client waiting 0.5 ms could come back within the same one and be refused again
            java.time.Duration delay = java.time.Duration.ofMillis(pushbackMillis(retryAfter));
            status.addDetails(Any.pack(RetryInfo.newBuilder()
                    .setRetryDelay(Duration.newBuilder().setSeconds(delay.getSeconds()).setNanos(delay.getNano()))
                    .build()));
        }
        com.google.rpc.Status details = status.build();
        Metadata trailers = new Metadata();
        trailers.put(STATUS_DETAILS, details);
        if (retryAfter != null) {
            trailers.put(RETRY_PUSHBACK, Long.toString(pushbackMillis(retryAfter)));
        }
        return new Answer(io.grpc.Status.fromCodeValue(details.getCode()).withDescription(message), trailers);
    }

    /**
     * A status for the client, not a fault in the server: no stack trace, which would cost more than the
     * rest of a rejection (503s under overload are the common case).
     */
    static final class Answer extends StatusException {
        Answer(io.grpc.Status status, Metadata trailers) {
            super(status, trailers);
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }
}
