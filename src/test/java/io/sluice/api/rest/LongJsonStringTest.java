package io.sluice.api.rest;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.inference.Datatype;
import io.sluice.inference.InferRequest;
import io.sluice.inference.ModelMetadata;
import io.sluice.inference.Tensor;
import io.sluice.inference.TensorSpec;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A JSON BYTES element is bounded by the body limit alone, as over binary REST and gRPC: Jackson's own default of
 * 20,000,000 characters a string refused a longer one inside a body under the limit, as "malformed".
 */
class LongJsonStringTest {

    private static final int LENGTH = 21_000_000;

    @Test
    void aBytesElementLongerThanJacksonsDefaultStringLimitIsRead() {
        ModelMetadata m = new ModelMetadata("m", "1", List.of("1"), ModelMetadata.PLATFORM, "cpu",
                List.of(new TensorSpec("x", Datatype.BYTES, new long[] {-1})),
                List.of(new TensorSpec("y", Datatype.BYTES, new long[] {-1})));
        StringBuilder json = new StringBuilder(LENGTH + 100)
                .append("{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"");
        json.append("a".repeat(LENGTH)).append("\"]}]}");
        byte[] body = json.toString().getBytes(StandardCharsets.UTF_8);

        InferRequest r = RestInferRequests.parse("m", null, body, null, () -> m, InferRequest.NO_DEADLINE, 0).request();

        Tensor x = r.inputs().get(0);
        assertThat(x.shape()).containsExactly(1);
        assertThat(x.data().remaining()).isEqualTo(4 + LENGTH); // a little-endian length, then the element's bytes
        assertThat(x.data().get(x.data().position() + 4 + LENGTH - 1)).isEqualTo((byte) 'a');
    }
}
