package io.sluice.bench;

import java.util.List;

/**
 * One worker's connection to something that runs the model: the server over one protocol, or ONNX
 * Runtime in-process. Each instance is used by one thread and always sends the same request.
 */
interface InferClient extends AutoCloseable {

    /** Sends the request and reads the whole response; returns a {@link Status} code, never throws. */
    int infer();

    /** Sends the request once and decodes the response, for validation. */
    Response inferDecoded();

    /**
     * Whether the last {@link #infer()}, if the server turned it away (429/503, RESOURCE_EXHAUSTED/UNAVAILABLE),
     * told the client when to come back: REST {@code Retry-After} (and on a 429 also {@code RateLimit} and
     * {@code RateLimit-Policy}), gRPC a {@code google.rpc.RetryInfo} status detail.
     */
    default boolean retryHint() {
        return false;
    }

    /** How long the last {@link #infer()}'s rejection asked the client to wait (Retry-After, RetryInfo); 0 if it did not. */
    default long retryAfterNanos() {
        return 0;
    }

    /**
     * Called once per asynchronous call with its {@link Status} code and, for a rejection that said when to
     * retry, how long it asked the client to wait (nanoseconds, 0 or more); -1 when it did not say.
     */
    @FunctionalInterface
    interface Completion {
        void done(int status, long retryAfterNanos);
    }

    /**
     * Whether {@link #inferAsync} works: then an open loop sends from one thread and needs no thread per
     * outstanding request (gRPC). Blocking clients (REST over {@link Http1Connection}) say no.
     */
    default boolean canSendAsync() {
        return false;
    }

    /**
     * Sends the request without waiting; {@code done} runs exactly once, on a transport thread, when the
     * answer (or the failure) is in. May be called again before earlier calls complete.
     */
    default void inferAsync(Completion done) {
        throw new UnsupportedOperationException("this client only blocks");
    }

    /** The inputs this client sends (to check answers against). */
    List<Tensor> inputs();

    @Override
    void close();

    /** A decoded answer: the status, the outputs (raw little-endian bytes), or what went wrong. */
    record Response(int status, List<Tensor> outputs, String error) {
        static Response failed(int status, String error) {
            return new Response(status, List.of(), error);
        }
    }
}
