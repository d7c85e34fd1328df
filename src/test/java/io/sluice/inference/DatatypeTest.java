package io.sluice.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Datatype names, read in any case of ASCII letters, and nothing that only Unicode's case rules make one. */
class DatatypeTest {

    @Test
    void namesAreReadInAnyAsciiCase() {
        assertThat(Datatype.parse("int64", "X")).isEqualTo(Datatype.INT64);
        assertThat(Datatype.parse("Fp32", "X")).isEqualTo(Datatype.FP32);
        assertThat(Datatype.parse("BYTES", "X")).isEqualTo(Datatype.BYTES);
    }

    @Test
    void lettersThatOnlyUpperCaseToAsciiAreNotRead() {
        // a dotless i (U+0131) upper-cases to I, a long s (U+017F) to S
        assertThatThrownBy(() -> Datatype.parse("\u0131nt64", "X")).isInstanceOf(InferenceException.InvalidInput.class)
                .hasMessage("input 'X' has unknown datatype '\u0131nt64'");
        assertThatThrownBy(() -> Datatype.parse("BYTE\u017F", "X")).hasMessage("input 'X' has unknown datatype 'BYTE\u017F'");
        assertThatThrownBy(() -> Datatype.parse(null, "X")).hasMessage("input 'X' has no datatype");
    }
}
