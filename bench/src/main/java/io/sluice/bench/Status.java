package io.sluice.bench;

/**
 * Outcome codes of one request, as plain ints so the hot path allocates nothing. HTTP statuses are
 * themselves; a gRPC status is {@link #GRPC_BASE} plus its code; the negative ones are client-side.
 */
final class Status {
    /** Success on every protocol (HTTP 200, gRPC OK, an ONNX Runtime run that returned). */
    static final int OK = 200;
    /** No answer within the request timeout (socket timeout, gRPC DEADLINE_EXCEEDED). */
    static final int TIMEOUT = -1;
    /** Connection refused, reset or closed mid-response; also unparseable responses. */
    static final int IO_ERROR = -2;
    /** Open loop only: the send was due longer than the timeout ago, so it was never sent. */
    static final int DROPPED = -3;
    static final int GRPC_BASE = 1000;

    private Status() {
    }

    static int ofGrpc(io.grpc.Status.Code code) {
        if (code == io.grpc.Status.Code.OK) {
            return OK;
        }
        return code == io.grpc.Status.Code.DEADLINE_EXCEEDED ? TIMEOUT : GRPC_BASE + code.value();
    }

    static boolean isClientSide(int status) {
        return status < 0;
    }

    static final int GRPC_RESOURCE_EXHAUSTED = GRPC_BASE + io.grpc.Status.Code.RESOURCE_EXHAUSTED.value();
    static final int GRPC_UNAVAILABLE = GRPC_BASE + io.grpc.Status.Code.UNAVAILABLE.value();

    /** The server answered (any status it sent, success or not); timeouts, io-errors and drops are no answer. */
    static boolean isAnswer(int status) {
        return status > 0;
    }

    /** Rate limited: HTTP 429 or gRPC RESOURCE_EXHAUSTED. */
    static boolean isRateLimited(int status) {
        return status == 429 || status == GRPC_RESOURCE_EXHAUSTED;
    }

    /** Turned away because the server is full (bulkhead, queue, not ready): HTTP 503 or gRPC UNAVAILABLE. */
    static boolean isUnavailable(int status) {
        return status == 503 || status == GRPC_UNAVAILABLE;
    }

    /** A rejection the client should retry later: rate limited or unavailable. */
    static boolean isRejection(int status) {
        return isRateLimited(status) || isUnavailable(status);
    }

    /**
     * A server-side failure: HTTP 5xx, or the gRPC codes that stand for one (UNKNOWN, UNIMPLEMENTED,
     * INTERNAL, UNAVAILABLE, DATA_LOSS). DEADLINE_EXCEEDED is counted as {@link #TIMEOUT} instead.
     */
    static boolean isServerError(int status) {
        if (status >= 500 && status < 600) {
            return true;
        }
        if (status < GRPC_BASE) {
            return false;
        }
        switch (io.grpc.Status.fromCodeValue(status - GRPC_BASE).getCode()) {
            case UNKNOWN:
            case UNIMPLEMENTED:
            case INTERNAL:
            case UNAVAILABLE:
            case DATA_LOSS:
                return true;
            default:
                return false;
        }
    }

    /**
     * Whether the outcome named {@code name} (as {@link #name} writes it) is a fault of the server or the transport:
     * a timeout, an I/O error, or any status but success, a rejection (429/503, RESOURCE_EXHAUSTED/UNAVAILABLE) and
     * an open loop's send that came too late to go out ({@code dropped}).
     */
    static boolean isFault(String name) {
        return !(name.equals(name(OK)) || name.equals(name(DROPPED)) || name.equals(name(429)) || name.equals(name(503))
                || name.equals(name(GRPC_RESOURCE_EXHAUSTED)) || name.equals(name(GRPC_UNAVAILABLE)));
    }

    static String name(int status) {
        switch (status) {
            case OK:
                return "ok";
            case TIMEOUT:
                return "timeout";
            case IO_ERROR:
                return "io-error";
            case DROPPED:
                return "dropped";
            default:
                if (status >= GRPC_BASE) {
                    return "grpc-" + io.grpc.Status.fromCodeValue(status - GRPC_BASE).getCode().name();
                }
                return "http-" + status;
        }
    }
}
