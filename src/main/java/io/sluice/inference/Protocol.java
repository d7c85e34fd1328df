package io.sluice.inference;

import java.util.Locale;

/** Which adapter a request came through; the {@code protocol} tag of request metrics. */
public enum Protocol {
    REST,
    GRPC,
    /** Requests Sluice makes itself, such as warmup. */
    INTERNAL;

    /** The tag value. */
    public String tag() {
        return name().toLowerCase(Locale.ROOT);
    }
}
