package io.sluice.api.rest;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The body limit may not pass Quarkus REST's input buffer, through which a chunked body past it arrived as zeros. */
class RestBodyLimitSettingsTest {

    @Test
    void aBodyLimitUpToTheInputBufferIsServedAndOneAboveItIsRefusedNamingBoth() {
        assertThat(RestBodyLimit.problem(64L << 20, 64L << 20)).isNull();
        assertThat(RestBodyLimit.problem(8L << 20, 64L << 20)).isNull();
        assertThat(RestBodyLimit.problem(128L << 20, 64L << 20))
                .contains("quarkus.http.limits.max-body-size (134217728 bytes)")
                .contains("quarkus.rest.input-buffer-size (67108864 bytes, fixed at build time)");
    }
}
