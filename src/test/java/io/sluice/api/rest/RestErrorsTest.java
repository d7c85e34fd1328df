package io.sluice.api.rest;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** What an error body carries of a message. */
class RestErrorsTest {

    @Test
    void aLongMessageIsCutWithAnEllipsisAndNeverInHalfACharacter() {
        String name = "model '" + "m".repeat(100_000) + "' not found";
        assertThat(RestErrors.bounded(name)).hasSize(RestErrors.MAX_MESSAGE_CHARS).endsWith("m\u2026")
                .startsWith("model 'mmm");
        String emoji = "x".repeat(RestErrors.MAX_MESSAGE_CHARS - 2) + "\ud83d\ude00".repeat(10);
        assertThat(RestErrors.bounded(emoji)).endsWith("x\u2026").hasSize(RestErrors.MAX_MESSAGE_CHARS - 1);
        String exact = "y".repeat(RestErrors.MAX_MESSAGE_CHARS);
        assertThat(RestErrors.bounded(exact)).isSameAs(exact);
        assertThat(RestErrors.bounded(null)).isNull();
    }
}
