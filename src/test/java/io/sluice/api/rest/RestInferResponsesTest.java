package io.sluice.api.rest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.inference.Datatype;
import io.sluice.inference.InferRequest;
import io.sluice.inference.InferResponse;
import io.sluice.inference.Protocol;
import io.sluice.inference.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The JSON answer is printed once into a buffer sized for it: a MiniLM-sized FP32 output (the widest
 * floats Java prints, sign, 9 digits and a negative exponent) fits the estimate without regrowing, and
 * reads back to exactly the floats the model produced.
 */
class RestInferResponsesTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aMiniLmAnswerFitsItsEstimateAndReadsBackExactly() throws Exception {
        int n = 128 * 384;
        ByteBuffer data = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
        Random random = new Random(7);
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            // every other one the longest form: -d.dddddddE-dd
            values[i] = i % 2 == 0 ? -Float.intBitsToFloat(0x2d000000 | random.nextInt(0x00800000))
                    : (float) random.nextGaussian();
            data.putFloat(values[i]);
        }
        Tensor out = new Tensor("last_hidden_state", Datatype.FP32, new long[] {1, 128, 384}, data.flip());
        InferResponse response = new InferResponse("m", "1", null, Map.of(), List.of(out));
        RestInferRequests.Parsed parsed = new RestInferRequests.Parsed(new InferRequest("m", null, null, Map.of(),
                List.of(), List.of(), 0, InferRequest.NO_DEADLINE, Protocol.REST), Set.of(), false);

        RestInferResponses.Written written = RestInferResponses.write(response, parsed);

        int estimate = RestInferResponses.estimatedSize(response, parsed);
        assertThat(written.headerLength()).isEqualTo(-1);
        // the buffer starts at the estimate, so an answer no longer than it was never regrown or copied
        assertThat(written.body().length()).isBetween(estimate * 3 / 4, estimate);
        JsonNode printed = JSON.readTree(written.body().getBytes()).path("outputs").path(0).path("data");
        assertThat(printed.size()).isEqualTo(n);
        for (int i = 0; i < n; i++) {
            assertThat(printed.get(i).floatValue()).isEqualTo(values[i]);
        }
    }
}
