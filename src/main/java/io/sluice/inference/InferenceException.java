package io.sluice.inference;

import java.time.Duration;

/**
 * The one error hierarchy of the core. Each protocol adapter translates these once, following the
 * error table in the README ("Errors"); a client mistake is never a {@link RuntimeFailure}. A body over
 * the size limit never gets here: REST answers 413 ({@code api.rest.RestBodyLimit} when the length is
 * declared, the HTTP server for a chunked body), the gRPC route RESOURCE_EXHAUSTED.
 */
public abstract sealed class InferenceException extends RuntimeException {

    private InferenceException(String message, Throwable cause) {
        super(message, cause, false, false);
    }

    /** Unknown model or version: 404 / NOT_FOUND. */
    public static final class ModelNotFound extends InferenceException {
        public ModelNotFound(String message) {
            super(message, null);
        }
    }

    /** Invalid input: name, shape, datatype, element count, JSON, binary framing: 400 / INVALID_ARGUMENT. */
    public static final class InvalidInput extends InferenceException {
        public InvalidInput(String message) {
            super(message, null);
        }
    }

    /** Missing or unknown API key while authentication is on: 401 / UNAUTHENTICATED. */
    public static final class Unauthenticated extends InferenceException {
        public Unauthenticated(String message) {
            super(message, null);
        }
    }

    /**
     * The tenant is over its rate limit: 429 + Retry-After + RateLimit headers / RESOURCE_EXHAUSTED +
     * RetryInfo.
     */
    public static final class RateLimited extends InferenceException {

        private final RateLimitState state;

        public RateLimited(String message, RateLimitState state) {
            super(message, null);
            this.state = state;
        }

        /** The bucket as it stood when the request was turned away. */
        public RateLimitState state() {
            return state;
        }
    }

    /** Model not ready, bulkhead or queue full, circuit open: 503 + Retry-After / UNAVAILABLE + RetryInfo. */
    public static final class Unavailable extends InferenceException {

        /** Why the request was turned away; the {@code reason} tag of rejection metrics. */
        public enum Reason {
            NOT_READY,
            QUEUE_FULL,
            BULKHEAD_FULL,
            CIRCUIT_OPEN
        }

        private final Reason reason;
        private final Duration retryAfter;

        public Unavailable(Reason reason, String message, Duration retryAfter) {
            super(message, null);
            this.reason = reason;
            this.retryAfter = retryAfter;
        }

        /** Why the request was turned away. */
        public Reason reason() {
            return reason;
        }

        /** When the client should try again. */
        public Duration retryAfter() {
            return retryAfter;
        }
    }

    /** The deadline passed before or during execution: 504 / DEADLINE_EXCEEDED. */
    public static final class DeadlineExceeded extends InferenceException {
        public DeadlineExceeded(String message) {
            super(message, null);
        }
    }

    /** The model itself failed: 500 / INTERNAL. */
    public static final class RuntimeFailure extends InferenceException {
        public RuntimeFailure(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
