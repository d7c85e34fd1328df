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
