package io.sluice.inference;

/**
 * One protocol adapter's own request parsing and answer writing, run in process once per model before the model is
 * READY, so that a client's first request does not load and interpret that code (on a tiny model the first REST
 * request after readiness took about 100 ms against 5 for the next). No socket, tenant, rate limit, cache, metric
 * or statistic is touched: {@code request} is encoded as the adapter's clients send it, parsed by the adapter's
 * parser, and {@code answer} written by its writer, then dropped.
 */
public interface WireWarmup {

    /** The wire format, for the log: {@code REST} or {@code gRPC}. */
    String protocol();

    /**
     * Encodes {@code request}, parses it back and writes {@code answer}, as this adapter serves a call.
     *
     * @param metadata the model's metadata, as the adapter's parser is handed it when serving
     * @param request a request the model has run, its inputs as clients would send them
     * @param answer the model's answer to it
     * @throws RuntimeException when the adapter cannot carry them; the model serves on (the caller logs it)
     */
    void warm(ModelMetadata metadata, InferRequest request, InferResponse answer);

    /**
     * Whether a warmup step that threw {@code e} may be logged and the model serve on: any exception or error but a
     * {@link VirtualMachineError} other than running out of memory or stack (an internal error, an unknown one), after
     * which the JVM cannot be trusted to go on.
     */
    static boolean survivable(Throwable e) {
        return !(e instanceof VirtualMachineError) || e instanceof OutOfMemoryError || e instanceof StackOverflowError;
    }
}
