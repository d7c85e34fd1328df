package io.sluice.api.rest;

/** HTTP header names of the REST API. */
final class RestHeaders {

    /** Length of the JSON header when binary tensors follow (OIP binary tensor extension). */
    static final String HEADER_LENGTH = "Inference-Header-Content-Length";
    /** Deadline for the request, in microseconds from arrival; the OIP {@code timeout} parameter wins if shorter. */
    static final String TIMEOUT = "Sluice-Timeout-Us";
    /** Priority level, as the OIP {@code priority} parameter; the parameter wins. */
    static final String PRIORITY = "Sluice-Priority";
    /** Seconds to wait before retrying a 503 or 429. */
    static final String RETRY_AFTER = "Retry-After";

    /** IETF RateLimit fields: the policy ({@code "name";q=quota;w=window}) and the state ({@code "name";r=remaining;t=reset}). */
    static final String RATE_LIMIT_POLICY = "RateLimit-Policy";
    static final String RATE_LIMIT = "RateLimit";
    /** Standard API-key headers. */
    static final String AUTHORIZATION = "Authorization";
    static final String API_KEY = io.sluice.admission.Tenants.API_KEY_HEADER;
    static final String WWW_AUTHENTICATE = "WWW-Authenticate";

    /** Where a cached model's response came from: miss, hit-l1 or hit-l2. */
    static final String CACHE = "Sluice-Cache";

    private RestHeaders() {}

    /**
     * The one value of header {@code name} on {@code request}, or null without one. Sent twice (which could mean two
     * lengths, or two deadlines) it is refused rather than one of them taken at random; sent empty, it is returned
     * empty, for its reader to refuse.
     *
     * @throws io.sluice.inference.InferenceException.InvalidInput when it is sent more than once
     */
    static String one(io.vertx.core.http.HttpServerRequest request, String name) {
        java.util.List<String> values = request.headers().getAll(name);
        if (values.size() > 1) {
            throw new io.sluice.inference.InferenceException.InvalidInput("header " + name + " is sent "
                    + values.size() + " times; send it once");
        }
        return values.isEmpty() ? null : values.get(0);
    }

    /** Every value of header {@code name}, as one comma-separated list (RFC 9110, 5.3), or null without one. */
    static String list(io.vertx.core.http.HttpServerRequest request, String name) {
        java.util.List<String> values = request.headers().getAll(name);
        return values.isEmpty() ? null : String.join(", ", values);
    }

    /**
     * The IETF RateLimit fields of {@code state}: {@code RateLimit-Policy: "<name>";q=<burst>;w=<seconds to refill>}
     * and {@code RateLimit: "<name>";r=<tokens left>;t=<seconds>}, where t is the wait for the next token
     * when none is left, else the seconds until the bucket is full again.
     */
    static void rateLimit(jakarta.ws.rs.core.Response.ResponseBuilder response, io.sluice.inference.RateLimitState state) {
        String policy = "\"" + state.policy().replace("\"", "") + "\"";
        response.header(RATE_LIMIT_POLICY, policy + ";q=" + state.quota() + ";w=" + state.window())
                .header(RATE_LIMIT, policy + ";r=" + state.remaining() + ";t=" + state.resetSeconds());
    }
}
