package io.sluice.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.inference.Datatype;
import io.sluice.inference.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * What the adapters' warmup carries of a tensor past {@link Warmup#WIRE_WARMUP_BYTES}: its first element alone, and of a
 * BYTES element at most {@link Warmup#WIRE_WARMUP_ELEMENT_BYTES}.
 */
class WarmupFirstElementTest {

    @Test
    void aFixedSizeTensorKeepsItsRankAndItsFirstElement() {
        ByteBuffer data = ByteBuffer.allocate(6 * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 6; i++) {
            data.putFloat(i + 0.5f);
        }
        Tensor first = Warmup.firstElement(new Tensor("x", Datatype.FP32, new long[] {2, 3}, data.flip()));
        assertThat(first.name()).isEqualTo("x");
        assertThat(first.datatype()).isEqualTo(Datatype.FP32);
        assertThat(first.shape()).containsExactly(1, 1);
        assertThat(first.byteSize()).isEqualTo(Float.BYTES);
        assertThat(first.view().getFloat()).isEqualTo(0.5f);
    }

    @Test
    void aBytesTensorKeepsItsFirstElementWithItsLength() {
        byte[] one = "first".getBytes(StandardCharsets.UTF_8);
        byte[] two = "second element".getBytes(StandardCharsets.UTF_8);
        ByteBuffer data = ByteBuffer.allocate(2 * Integer.BYTES + one.length + two.length).order(ByteOrder.LITTLE_ENDIAN);
        data.putInt(one.length).put(one).putInt(two.length).put(two).flip();
        Tensor first = Warmup.firstElement(new Tensor("s", Datatype.BYTES, new long[] {1, 2}, data));
        assertThat(first.shape()).containsExactly(1, 1);
        ByteBuffer view = first.view();
        assertThat(view.remaining()).isEqualTo(Integer.BYTES + one.length);
        assertThat(view.getInt()).isEqualTo(one.length);
        byte[] text = new byte[one.length];
        view.get(text);
        assertThat(text).isEqualTo(one);
    }

    @Test
    void aLongBytesElementIsCutUnderALengthPrefixThatSaysSo() {
        byte[] image = new byte[5_000];
        for (int i = 0; i < image.length; i++) {
            image[i] = (byte) i;
        }
        ByteBuffer data = ByteBuffer.allocate(Integer.BYTES + image.length).order(ByteOrder.LITTLE_ENDIAN);
        data.putInt(image.length).put(image).flip();
        Tensor first = Warmup.firstElement(new Tensor("img", Datatype.BYTES, new long[] {1}, data));
        ByteBuffer view = first.view();
        assertThat(view.remaining()).isEqualTo(Integer.BYTES + Warmup.WIRE_WARMUP_ELEMENT_BYTES);
        assertThat(view.getInt()).isEqualTo(Warmup.WIRE_WARMUP_ELEMENT_BYTES);
        byte[] kept = new byte[Warmup.WIRE_WARMUP_ELEMENT_BYTES];
        view.get(kept);
        assertThat(kept).isEqualTo(java.util.Arrays.copyOf(image, Warmup.WIRE_WARMUP_ELEMENT_BYTES));
    }

    @Test
    void anEmptyTensorStaysEmpty() {
        Tensor first = Warmup.firstElement(new Tensor("e", Datatype.INT64, new long[] {4, 0},
                ByteBuffer.allocate(0)));
        assertThat(first.shape()).containsExactly(1, 0);
        assertThat(first.byteSize()).isZero();
    }
}
