package io.sluice.api.rest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import io.sluice.fixtures.WireSamples;
import io.sluice.inference.InferRequest;
import io.sluice.inference.InferResponse;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The REST part of warmup sends what clients send: its bodies parse back to the very tensors, in both forms. */
class RestWireWarmupTest {

    private static final InferRequest SENT = WireSamples.everyDatatype("m");

    @Test
    void theJsonBodyParsesBackToTheSameTensors() {
        RestWireWarmup.Body body = RestWireWarmup.body(SENT, false);
        // BF16 has no JSON form: that input alone comes binary, after the JSON
        assertThat(body.bytes().length - body.headerLength()).isEqualTo(2 * 3 * 2);
        RestInferRequests.Parsed parsed = RestInferRequests.parse("m", "1", body.bytes(), body.headerLength(), () -> null,
                InferRequest.NO_DEADLINE, 0);
        WireSamples.assertSameInputs(parsed.request(), SENT);
        assertThat(parsed.allBinary()).isFalse();
    }

    @Test
    void theBinaryBodyParsesBackToTheSameTensorsAndAsksForBinaryOutputs() {
        RestWireWarmup.Body body = RestWireWarmup.body(SENT, true);
        assertThat(body.headerLength()).isLessThan(body.bytes().length);
        assertThat(new String(body.bytes(), 0, body.headerLength(), java.nio.charset.StandardCharsets.UTF_8))
                .doesNotContain("\"data\"");
        RestInferRequests.Parsed parsed = RestInferRequests.parse("m", "1", body.bytes(), body.headerLength(),
                () -> null, InferRequest.NO_DEADLINE, 0);
        WireSamples.assertSameInputs(parsed.request(), SENT);
        assertThat(parsed.allBinary()).isTrue();
    }

    @Test
    void warmingParsesAndWritesBothFormsWithoutFailing() {
        // the inputs as the answer: one output of every datatype, written as JSON and as binary
        InferResponse answer = new InferResponse("m", "1", "warmup", Map.of(), SENT.inputs());
        assertThatCode(() -> new RestWireWarmup().warm(null, SENT, answer)).doesNotThrowAnyException();
    }
}
