package io.sluice.bench;

/** Makes one {@link InferClient} per worker and owns what they share (a gRPC channel, an ORT session). */
interface ClientFactory extends AutoCloseable {

    /** A client for worker {@code index}; each worker gets its own input data. */
    InferClient create(int index);

    /** Whether its clients can {@link InferClient#inferAsync send without waiting}. */
    default boolean canSendAsync() {
        return false;
    }

    @Override
    void close();
}
