package io.sluice.bench;

import java.io.ByteArrayOutputStream;
import java.util.List;

/**
 * REST with the binary tensor extension: a JSON header (inputs with {@code binary_data_size}, binary
 * outputs requested) then the raw input bytes in input order, {@code Inference-Header-Content-Length}
 * giving the header's length. One keep-alive connection.
 */
final class RestBinaryClient implements InferClient {
    private final Http1Connection connection;
    private final byte[] request;
    private final List<Tensor> inputs;
    private final long outputBytes;

    /** {@code outputBytes}: what an OK answer's binary part must at least hold, else it is no success. */
    RestBinaryClient(String model, List<Tensor> inputs, int port, int timeoutMillis, long outputBytes) {
        this.inputs = inputs;
        this.outputBytes = outputBytes;
        this.connection = new Http1Connection(Settings.HOST, port, timeoutMillis);
        byte[] header = OipJson.binaryHeader(inputs);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(header);
        inputs.forEach(t -> body.writeBytes(t.raw()));
        this.request = Http1Connection.post(Settings.HOST, port, "/v2/models/" + model + "/infer",
                "application/octet-stream", body.toByteArray(),
                "Inference-Header-Content-Length: " + header.length);
    }

    @Override
    public int infer() {
        int status = connection.exchange(request);
        boolean holdsOutputs = connection.inferenceHeaderLength >= 0
                && connection.bodyLength - connection.inferenceHeaderLength >= outputBytes;
        return status == Status.OK && !holdsOutputs ? Status.IO_ERROR : status; // every answer checked, not the first
    }

    @Override
    public Response inferDecoded() {
        int status = connection.exchange(request);
        if (status == Status.OK && connection.inferenceHeaderLength < 0) {
            return Response.failed(Status.IO_ERROR, "binary outputs were requested but the response has no "
                    + "Inference-Header-Content-Length (content-type " + connection.contentType + ")");
        }
        return OipJson.decode(connection, status);
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
