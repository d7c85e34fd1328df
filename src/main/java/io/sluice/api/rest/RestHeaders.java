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
}
