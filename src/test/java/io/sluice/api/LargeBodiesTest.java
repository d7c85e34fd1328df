package io.sluice.api;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Which REST bodies and gRPC messages are read off the event loop. */
class LargeBodiesTest {

    @Test
    void compressedBodiesAndMuchJsonAreLarge() {
        assertThat(LargeBodies.large(100, null, false)).isFalse();
        // a compressed body that could inflate past 256 KiB (deflate inflates 1032 times at most)
        assertThat(LargeBodies.large(254, null, true)).isFalse();
        assertThat(LargeBodies.large(255, null, true)).isTrue();
        assertThat(LargeBodies.large(100_000, null, true)).isTrue();
        assertThat(LargeBodies.large(100, null, true)).isFalse();
        assertThat(LargeBodies.large(LargeBodies.LARGE_JSON_BYTES, null, false)).isFalse();
        assertThat(LargeBodies.large(LargeBodies.LARGE_JSON_BYTES + 1, null, false)).isTrue();
        // a binary request: its JSON header counts as JSON, its tensors only past the body limit
        assertThat(LargeBodies.large(4 << 20, 200, false)).isFalse();
        assertThat(LargeBodies.large(4 << 20, LargeBodies.LARGE_JSON_BYTES + 1, false)).isTrue();
        assertThat(LargeBodies.large(LargeBodies.LARGE_BODY_BYTES + 1, 200, false)).isTrue();
        // a header that claims more JSON than the body has (a 400 once read) counts the body
        assertThat(LargeBodies.large(1000, Integer.MAX_VALUE, false)).isFalse();
    }

    @Test
    void compressedGrpcMessagesThatCouldInflatePastAMebibyteAreLarge() {
        assertThat(LargeBodies.largeMessage(1016)).isFalse(); // 1016 × 1032 = 1,048,512
        assertThat(LargeBodies.largeMessage(1017)).isTrue();
        assertThat(LargeBodies.largeMessage(Integer.MAX_VALUE)).isTrue();
    }
}
