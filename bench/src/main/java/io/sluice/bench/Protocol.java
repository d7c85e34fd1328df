package io.sluice.bench;

import java.util.Arrays;

/** The ways the bench talks to the server. */
enum Protocol {
    /** {@code inference.GRPCInferenceService/ModelInfer} with {@code raw_input_contents}, over h2c. */
    GRPC("grpc"),
    /**
     * {@code inference.GRPCInferenceService/ModelStreamInfer}, Triton's stream: one per worker, one request
     * in flight on each, as a streaming client such as {@code perf_analyzer --streaming} loads it (grpc-java,
     * so compare it with {@code grpc} under {@code --grpc-client grpc-java}).
     */
    GRPC_STREAM("grpc-stream"),
    /** {@code POST /v2/models/{m}/infer} with the binary tensor extension, both ways. */
    REST_BINARY("rest-bin"),
    /** {@code POST /v2/models/{m}/infer} with tensors as JSON arrays, both ways. */
    REST_JSON("rest-json");

    final String label;

    Protocol(String label) {
        this.label = label;
    }

    static Protocol parse(String label) {
        return Arrays.stream(values())
                .filter(p -> p.label.equals(label))
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException(
                        "unknown protocol '" + label + "' (grpc, grpc-stream, rest-bin, rest-json)"));
    }
}
