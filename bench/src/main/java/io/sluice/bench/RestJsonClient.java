package io.sluice.bench;

import java.util.List;

/** REST with tensors as JSON arrays both ways, over one keep-alive connection. */
final class RestJsonClient implements InferClient {
    private final Http1Connection connection;
    private final byte[] request;
    private final List<Tensor> inputs;
    private final long outputElements;

    /** {@code outputElements}: at least one character each, so an OK answer shorter than that is no success. */
    RestJsonClient(String model, List<Tensor> inputs, int port, int timeoutMillis, long outputElements) {
        this.inputs = inputs;
        this.outputElements = outputElements;
        this.connection = new Http1Connection(Settings.HOST, port, timeoutMillis);
        this.request = Http1Connection.post(Settings.HOST, port, "/v2/models/" + model + "/infer",
                "application/json", OipJson.jsonRequest(inputs));
    }

    @Override
    public int infer() {
        int status = connection.exchange(request);
        return status == Status.OK && connection.bodyLength < outputElements ? Status.IO_ERROR : status;
    }

    @Override
    public Response inferDecoded() {
        return OipJson.decode(connection, connection.exchange(request));
    }

    @Override
    public boolean retryHint() {
        return connection.retryHint();
    }

    @Override
    public long retryAfterNanos() {
        return connection.retryAfterNanos();
    }

    @Override
    public List<Tensor> inputs() {
        return inputs;
    }

    @Override
    public void close() {
        connection.close();
    }
}
