package io.sluice.inference;

import java.time.Duration;

/**
 * The one error hierarchy of the core. Each protocol adapter translates these once, following the
 * error table in the README ("Errors"); a client mistake is never a {@link RuntimeFailure}. A body whose
 * own length is over the size limit never gets here: REST answers 413 ({@code api.rest.RestBodyLimit} when
 * the length is declared, the HTTP server for a chunked body), the gRPC route RESOURCE_EXHAUSTED; a REST body
 * that inflates past it is an {@link InvalidInput} of kind {@link InvalidInput.Kind#TOO_LARGE}.
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
        /** What is wrong with the request, where a protocol has a more precise answer than 400 for it. */
        public enum Kind {
            /** The request's contents: 400 / INVALID_ARGUMENT. */
            CONTENTS,
            /** A compressed body that inflates past the body limit: 413 / RESOURCE_EXHAUSTED. */
            TOO_LARGE,
            /** A body in a content coding Sluice does not read: 415. */
            UNSUPPORTED_ENCODING
        }

        private final Kind kind;

        public InvalidInput(String message) {
            this(message, Kind.CONTENTS);
        }

        public InvalidInput(String message, Kind kind) {
            super(message, null);
            this.kind = kind;
        }

        public Kind kind() {
            return kind;
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

    /**
     * Model not ready, bulkhead or queue full, circuit open, no memory to write the answer: 503 + Retry-After /
     * UNAVAILABLE + RetryInfo.
     */
    public static final class Unavailable extends InferenceException {

        /** Why the request was turned away; the {@code reason} tag of rejection metrics. */
        public enum Reason {
            NOT_READY,
            QUEUE_FULL,
            BULKHEAD_FULL,
            CIRCUIT_OPEN,
            /** The model answered, but the server had no memory to write the answer out (JSON text, a gRPC message). */
            NO_MEMORY
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

        /**
         * Whether the model could not serve the request at all (not ready: loading, failed, shutting down; its
         * breaker open), rather than being full. Such a request gives its rate-limit token back: a tenant is not
         * charged for a broken or departing model, and its calls to the others keep their quota. A full bulkhead
         * or queue (the shedding included) is contention among tenants, where every attempt counts against its
         * tenant's rate, so one that ignores Retry-After is held to its rate rather than crowding out those
         * that wait.
         */
        public boolean modelCannotServe() {
            return reason == Reason.NOT_READY || reason == Reason.CIRCUIT_OPEN;
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
        private final boolean mayBeTheInput;

        public RuntimeFailure(String message, Throwable cause) {
            this(message, cause, false);
        }

        /**
         * @param mayBeTheInput the runtime's failure of a run, not of its resources (memory, a device): the input may
         *     be at fault, which the scheduler then tells by running the model's known-good input
         */
        public RuntimeFailure(String message, Throwable cause, boolean mayBeTheInput) {
            super(message, cause);
            this.mayBeTheInput = mayBeTheInput;
        }

        public boolean mayBeTheInput() {
            return mayBeTheInput;
        }
    }
}
