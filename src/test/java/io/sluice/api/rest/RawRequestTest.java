package io.sluice.api.rest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.inference.Datatype;
import io.sluice.inference.InferRequest;
import io.sluice.inference.InferenceException;
import io.sluice.inference.ModelMetadata;
import io.sluice.inference.TensorSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A raw binary request ({@code Inference-Header-Content-Length: 0}): the whole body is the model's one input. */
class RawRequestTest {

    private static ModelMetadata model(long... shape) {
        return new ModelMetadata("m", "1", List.of("1"), ModelMetadata.PLATFORM, "cpu",
                List.of(new TensorSpec("X", Datatype.FP32, shape)), List.of(new TensorSpec("Y", Datatype.FP32, shape)));
    }

    private static ModelMetadata bytesModel(long... shape) {
        return new ModelMetadata("m", "1", List.of("1"), ModelMetadata.PLATFORM, "cpu",
                List.of(new TensorSpec("S", Datatype.BYTES, shape)), List.of(new TensorSpec("Y", Datatype.FP32, shape)));
    }

    private static long[] shapeOf(byte[] body, ModelMetadata m) {
        InferRequest r = RestInferRequests.parse("m", null, body, 0, () -> m, InferRequest.NO_DEADLINE, 0).request();
        return r.inputs().get(0).shape();
    }

    @Test
    void aBatchingModelWithAnotherVariableDimensionGetsOneRowAsTritonReadsIt() {
        assertThat(shapeOf(new byte[12], model(-1, -1))).containsExactly(1, 3);
        assertThat(shapeOf(new byte[24], model(-1, 2, -1))).containsExactly(1, 2, 3);
    }

    @Test
    void oneVariableDimensionIsInferredFromTheBody() {
        assertThat(shapeOf(new byte[24], model(-1, 3))).containsExactly(2, 3);
        assertThat(shapeOf(new byte[16], model(4))).containsExactly(4);
    }

    @Test
    void twoVariableDimensionsBesideTheFirstCannotBeInferred() {
        assertThatThrownBy(() -> shapeOf(new byte[16], model(2, -1, -1)))
                .isInstanceOf(InferenceException.InvalidInput.class)
                .hasMessageContaining("more than one variable dimension");
        assertThatThrownBy(() -> shapeOf(new byte[10], model(-1, -1)))
                .isInstanceOf(InferenceException.InvalidInput.class).hasMessageContaining("does not fit input 'X'");
    }

    @Test
    void aBytesInputIsTakenRawOnlyWhenItsShapeIsFixed() {
        byte[] twoElements = {1, 0, 0, 0, 'a', 2, 0, 0, 0, 'b', 'c'}; // 4-byte little-endian lengths, then the bytes
        assertThat(shapeOf(twoElements, bytesModel(2))).containsExactly(2);
        assertThatThrownBy(() -> shapeOf(twoElements, bytesModel(-1)))
                .isInstanceOf(InferenceException.InvalidInput.class)
                .hasMessageContaining("raw body for BYTES input 'S'")
                .hasMessageContaining("its element count cannot be told from the body's length");
    }
}
