package io.sluice.inference;

import java.util.List;
import java.util.Map;

/**
 * A protocol-neutral inference request, as every adapter builds it.
 *
 * @param model model name
 * @param version requested version, or {@code null} for the model's default (highest) version
 * @param id client request id, echoed back; may be {@code null}
 * @param parameters request parameters, kept and echoed where the protocol says so
 * @param inputs input tensors
 * @param outputs names of requested outputs; empty means all outputs
 * @param priority priority level, 0 is the default; higher levels go first
 * @param deadlineNanos deadline on the {@link System#nanoTime()} scale, or {@link #NO_DEADLINE}
 * @param protocol the adapter it came through
 */
public record InferRequest(
        String model,
        String version,
        String id,
        Map<String, Object> parameters,
        List<Tensor> inputs,
        List<String> outputs,
        int priority,
        long deadlineNanos,
        Protocol protocol) {

    /** Marks a request without a deadline. */
    public static final long NO_DEADLINE = Long.MAX_VALUE;

    public InferRequest {
        parameters = parameters == null ? Map.of() : parameters;
        outputs = outputs == null ? List.of() : outputs;
    }

    /** True when the request carries a deadline. */
    public boolean hasDeadline() {
        return deadlineNanos != NO_DEADLINE;
    }
}
