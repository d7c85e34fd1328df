package io.sluice.observability;

import io.sluice.inference.InferenceException;
import java.util.Locale;

/** How a request ended; the {@code outcome} tag of {@code sluice_requests_total}. */
public enum Outcome {
    SUCCESS,
    INVALID,
    NOT_FOUND,
    UNAUTHENTICATED,
    RATE_LIMITED,
    UNAVAILABLE,
    DEADLINE,
    CANCELLED,
    ERROR;

    /** The tag value. */
    public String tag() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The outcome of a failure. */
    public static Outcome of(Throwable failure) {
        if (failure instanceof InferenceException.InvalidInput) {
            return INVALID;
        } else if (failure instanceof InferenceException.ModelNotFound) {
            return NOT_FOUND;
        } else if (failure instanceof InferenceException.Unauthenticated) {
            return UNAUTHENTICATED;
        } else if (failure instanceof InferenceException.RateLimited) {
            return RATE_LIMITED;
        } else if (failure instanceof InferenceException.Unavailable) {
            return UNAVAILABLE;
        } else if (failure instanceof InferenceException.DeadlineExceeded) {
            return DEADLINE;
        }
        return ERROR;
    }
}
