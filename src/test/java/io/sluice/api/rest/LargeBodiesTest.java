package io.sluice.api.rest;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Which REST bodies are read off the event loop. */
class LargeBodiesTest {

    @Test
    void compressedBodiesAndMuchJsonAreLarge() {
        assertThat(LargeBodies.large(100, null, null)).isFalse();
        assertThat(LargeBodies.large(100, null, "identity")).isFalse();
        // a compressed body that could inflate past 256 KiB (deflate inflates 1032 times at most)
        assertThat(LargeBodies.large(254, null, "gzip")).isFalse();
        assertThat(LargeBodies.large(255, null, "gzip")).isTrue();
        assertThat(LargeBodies.large(100_000, null, "identity, deflate")).isTrue();
        assertThat(LargeBodies.large(100, null, "deflate")).isFalse();
        assertThat(LargeBodies.large(LargeBodies.LARGE_JSON_BYTES, null, null)).isFalse();
        assertThat(LargeBodies.large(LargeBodies.LARGE_JSON_BYTES + 1, null, null)).isTrue();
        // a binary request: its JSON header counts as JSON, its tensors only past the body limit
        assertThat(LargeBodies.large(4 << 20, 200, null)).isFalse();
        assertThat(LargeBodies.large(4 << 20, LargeBodies.LARGE_JSON_BYTES + 1, null)).isTrue();
        assertThat(LargeBodies.large(LargeBodies.LARGE_BODY_BYTES + 1, 200, null)).isTrue();
        // a header that claims more JSON than the body has (a 400 once read) counts the body
        assertThat(LargeBodies.large(1000, Integer.MAX_VALUE, null)).isFalse();
    }
}
