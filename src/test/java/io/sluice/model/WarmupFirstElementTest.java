package io.sluice.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.inference.Datatype;
import io.sluice.inference.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** What the adapters' warmup carries of a tensor past {@link Warmup#WIRE_WARMUP_BYTES}: its first element alone. */
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
    void anEmptyTensorStaysEmpty() {
        Tensor first = Warmup.firstElement(new Tensor("e", Datatype.INT64, new long[] {4, 0},
                ByteBuffer.allocate(0)));
        assertThat(first.shape()).containsExactly(1, 0);
        assertThat(first.byteSize()).isZero();
    }
}
