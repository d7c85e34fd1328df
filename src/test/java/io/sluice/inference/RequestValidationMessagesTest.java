package io.sluice.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What a refusal quotes of the client's request: strings quoted, long values cut, length prefixes unsigned. */
class RequestValidationMessagesTest {

    @Test
    void aStringValueIsQuotedSoItIsNotTakenForANumber() {
        assertThat(RequestValidation.shown("2")).isEqualTo("\"2\"");
        assertThat(RequestValidation.shown(2L)).isEqualTo("2");
        assertThatThrownBy(() -> RequestValidation.classificationCount(Map.of("classification", "2"), "Y"))
                .hasMessageEndingWith("was \"2\"");
    }

    @Test
    void aLongNameIsCutToItsFirst64CharactersAndItsLength() {
        String name = "A".repeat(1_000_000);
        InferRequest request = new InferRequest("m", null, null, Map.of(),
                List.of(new Tensor(name, Datatype.FP32, new long[] {1, 1}, ByteBuffer.allocate(4))), List.of(),
                0, InferRequest.NO_DEADLINE, Protocol.REST, Map.of());
        assertThatThrownBy(() -> RequestValidation.validate(request,
                List.of(new TensorSpec("X", Datatype.FP32, new long[] {-1, 1})), List.of(), true, d -> true))
                .hasMessage("missing input 'X'; model 'm' expects [X], and input '" + "A".repeat(64)
                        + "\u2026 (1000000 characters)' is not one of them");
    }

    @Test
    void aBytesLengthPrefixIsReadAsUnsigned() {
        ByteBuffer data = ByteBuffer.allocate(6).putInt(-1).put((byte) 'a').put((byte) 'b').flip();
        assertThatThrownBy(() -> RequestValidation.checkBytes(new Tensor("S", Datatype.BYTES, new long[] {1}, data)))
                .hasMessage("input 'S': BYTES element 0 claims 4294967295 bytes, 2 remain");
    }
}
