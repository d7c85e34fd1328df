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
