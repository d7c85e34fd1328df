package io.sluice.api.rest;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** {@link ContentEncoding#coded}: which {@code Content-Encoding} headers say the body is compressed. */
class ContentEncodingTest {

    @Test
    void identityAloneIsNoCoding() {
        assertThat(ContentEncoding.coded(null)).isFalse();
        assertThat(ContentEncoding.coded("identity")).isFalse();
        assertThat(ContentEncoding.coded("gzip")).isTrue();
        assertThat(ContentEncoding.coded("deflate")).isTrue();
        assertThat(ContentEncoding.coded("identity, deflate")).isTrue();
    }
}
