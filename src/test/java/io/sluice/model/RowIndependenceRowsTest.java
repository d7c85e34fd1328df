package io.sluice.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.inference.Datatype;
import io.sluice.inference.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** How {@link RowIndependence} compares a row of {@code [a, b]}'s outputs with the same row of {@code [b, a]}'s. */
class RowIndependenceRowsTest {

    @Test
    void bytesRowsAreElementsWhateverTheirLengths() {
        // labels of different lengths: half the bytes is not a row
        Tensor ab = strings("setosa", "versicolor");
        assertThat(RowIndependence.sameRows(ab, strings("versicolor", "setosa"))).isTrue();
        assertThat(RowIndependence.sameRows(ab, strings("versicolor", "virginica"))).isFalse();
    }

    @Test
    void floatsMatchWithinATolerancePerRowAndNaNsMatchOnlyNaNs() {
        assertThat(RowIndependence.sameRows(floats(1f, Float.NaN, 2f, 3f), floats(2f, 3f, 1.0004f, Float.NaN))).isTrue();
        assertThat(RowIndependence.sameRows(floats(1f, Float.NaN, 2f, 3f), floats(2f, 3f, 1.01f, Float.NaN))).isFalse();
        // an infinity does not widen the tolerance to everything
        assertThat(RowIndependence.sameRows(floats(Float.POSITIVE_INFINITY, 1f, 2f, 3f),
                floats(2f, 3f, Float.POSITIVE_INFINITY, 5f))).isFalse();
        assertThat(RowIndependence.sameRows(floats(-0f, 1f, 2f, 3f), floats(2f, 3f, 0f, 1f))).isTrue();
    }

    @Test
    void halvesAreComparedAsNumbersAndIntegersExactly() {
        // FP16 1.0 and the next half up (1.0009765625) are within 2 % of the row's largest
        Tensor ab = new Tensor("Y", Datatype.FP16, new long[] {2, 1}, le(2).putShort((short) 0x3C00).putShort((short) 0x4000).flip());
        Tensor ba = new Tensor("Y", Datatype.FP16, new long[] {2, 1}, le(2).putShort((short) 0x4000).putShort((short) 0x3C01).flip());
        assertThat(RowIndependence.sameRows(ab, ba)).isTrue();
        Tensor ints = new Tensor("Y", Datatype.INT32, new long[] {2, 1}, le(4).putInt(7).putInt(8).flip());
        Tensor off = new Tensor("Y", Datatype.INT32, new long[] {2, 1}, le(4).putInt(8).putInt(6).flip());
        assertThat(RowIndependence.sameRows(ints, off)).isFalse();
    }

    private static ByteBuffer le(int elementBytes) {
        return ByteBuffer.allocate(2 * elementBytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static Tensor floats(float... values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return new Tensor("Y", Datatype.FP32, new long[] {2, values.length / 2}, b.flip());
    }

    private static Tensor strings(String... values) {
        ByteBuffer b = ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN);
        for (String v : values) {
            byte[] text = v.getBytes(StandardCharsets.UTF_8);
            b.putInt(text.length).put(text);
        }
        return new Tensor("Y", Datatype.BYTES, new long[] {values.length}, b.flip());
    }
}
