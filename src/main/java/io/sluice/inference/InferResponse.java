package io.sluice.inference;

import java.util.List;
import java.util.Map;

/**
 * A protocol-neutral inference response.
 *
 * @param model model name
 * @param version the version that served the request
 * @param id the request id, echoed
 * @param parameters response parameters
 * @param outputs output tensors, in the order requested (or the model's order)
 * @param cache where the outputs came from when the model's response cache is on
 * @param rateLimit the caller's bucket after this request took its token; null without a bucket
 */
public record InferResponse(
        String model, String version, String id, Map<String, Object> parameters, List<Tensor> outputs,
        CacheStatus cache, RateLimitState rateLimit) {

    /** A response computed by the model, with no cache or bucket involved. */
    public InferResponse(String model, String version, String id, Map<String, Object> parameters, List<Tensor> outputs) {
        this(model, version, id, parameters, outputs, CacheStatus.NONE, null);
    }

    /** A response served through the cache. */
    public InferResponse(String model, String version, String id, Map<String, Object> parameters, List<Tensor> outputs,
            CacheStatus cache) {
        this(model, version, id, parameters, outputs, cache, null);
    }

    /** This response, reporting the caller's bucket. */
    public InferResponse withRateLimit(RateLimitState state) {
        return state == null ? this : new InferResponse(model, version, id, parameters, outputs, cache, state);
    }
}
