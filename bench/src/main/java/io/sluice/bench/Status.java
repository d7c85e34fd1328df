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
