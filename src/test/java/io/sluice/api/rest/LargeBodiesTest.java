package io.sluice.api.rest;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Which REST bodies are read off the event loop. */
class LargeBodiesTest {

    @Test
    void compressedBodiesAndMuchJsonAreLarge() {
        assertThat(LargeBodies.large(100, null, null)).isFalse();
        assertThat(LargeBodies.large(100, null, "identity")).isFalse();
        assertThat(LargeBodies.large(100, null, "gzip")).isTrue(); // 100 compressed bytes can inflate to 100 KB
        assertThat(LargeBodies.large(100, null, "identity, deflate")).isTrue();
        assertThat(LargeBodies.large(100, null, "br")).isTrue(); // refused, on a reader
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
