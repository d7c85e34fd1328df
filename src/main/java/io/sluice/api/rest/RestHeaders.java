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

    private RestHeaders() {}
}
