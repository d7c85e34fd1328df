package io.sluice.inference;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Triton's classification extension on tensors of every kind of element. */
class ClassificationTest {

    private static Tensor floats(long[] shape, float... values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return new Tensor("out", Datatype.FP32, shape, b.flip());
    }

    private static List<String> texts(Tensor t) {
        assertThat(t.datatype()).isEqualTo(Datatype.BYTES);
        ByteBuffer b = t.view();
        List<String> out = new ArrayList<>();
        while (b.hasRemaining()) {
            byte[] text = new byte[b.getInt()];
            b.get(text);
            out.add(new String(text, StandardCharsets.UTF_8));
        }
        return out;
    }

    @Test
    void highestFirstTiesByIndexAndEachRowOnItsOwn() {
        Tensor t = Classification.top(floats(new long[] {2, 4}, 1, 5, 10, 5, -1, -2, 0.5f, -3), 3, true);
        assertThat(t.shape()).containsExactly(2, 3);
        assertThat(texts(t)).containsExactly("10.000000:2", "5.000000:1", "5.000000:3",
                "0.500000:2", "-1.000000:0", "-2.000000:1");
    }

    @Test
    void anUnbatchedModelRanksTheWholeTensorAndACountPastTheClassesGivesThemAll() {
        Tensor t = Classification.top(floats(new long[] {2, 2}, 1, 4, 3, 2), 9, false);
        assertThat(t.shape()).containsExactly(4);
        assertThat(texts(t)).containsExactly("4.000000:1", "3.000000:2", "2.000000:3", "1.000000:0");
    }

    @Test
    void integersPrintWholeAndSixtyFourBitOnesExactly() {
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(Long.MAX_VALUE).putLong(-1);
        Tensor int64 = new Tensor("out", Datatype.INT64, new long[] {1, 2}, b.flip());
        assertThat(texts(Classification.top(int64, 2, true))).containsExactly(Long.MAX_VALUE + ":0", "-1:1");
        Tensor uint64 = new Tensor("out", Datatype.UINT64, new long[] {1, 2}, b.duplicate().rewind());
        assertThat(texts(Classification.top(uint64, 1, true))).containsExactly("18446744073709551615:1");
        Tensor uint8 = new Tensor("out", Datatype.UINT8, new long[] {3}, ByteBuffer.wrap(new byte[] {7, (byte) 200, 9}));
        assertThat(texts(Classification.top(uint8, 1, false))).containsExactly("200:1");
        // a batching model's output of one value per row ranks each row's one class
        assertThat(texts(Classification.top(uint8, 1, true))).containsExactly("7:0", "200:0", "9:0");
    }

    @Test
    void sixtyFourBitIntegersRankInTheirOwnType() {
        long big = 1L << 53; // past a double's 53 bits: big and big + 1 read as the same double
        ByteBuffer b = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN).putLong(big).putLong(big + 1).putLong(1)
                .putLong(-1);
        Tensor int64 = new Tensor("out", Datatype.INT64, new long[] {4}, b.flip());
        assertThat(texts(Classification.top(int64, 2, false))).containsExactly((big + 1) + ":1", big + ":0");
        Tensor uint64 = new Tensor("out", Datatype.UINT64, new long[] {4}, b.duplicate().rewind());
        assertThat(texts(Classification.top(uint64, 2, false))).containsExactly("18446744073709551615:3", (big + 1) + ":1");
    }

    @Test
    void floatsPrintAsCsPercentF() {
        assertThat(Classification.fixed(10841.07f)).isEqualTo("10841.070312"); // the float's exact value, half-even
        assertThat(Classification.fixed(1e38f)).isEqualTo("99999996802856924650656260769173209088.000000");
        assertThat(Classification.fixed(0.0000005)).isEqualTo("0.000000");
        assertThat(Classification.fixed(-0.0)).isEqualTo("-0.000000");
        assertThat(Classification.fixed(-1e-9)).isEqualTo("-0.000000");
        assertThat(Classification.fixed(Double.NaN)).isEqualTo("nan");
        assertThat(Classification.fixed(Double.NEGATIVE_INFINITY)).isEqualTo("-inf");
        assertThat(Classification.fixed(12)).isEqualTo("12.000000");
    }

    @Test
    void theHeapSelectsWhatAFullSortWould() {
        java.util.Random random = new java.util.Random(7);
        float[] values = new float[5_000];
        for (int i = 0; i < values.length; i++) {
            values[i] = random.nextInt(50) / 4f; // many ties
        }
        Tensor t = floats(new long[] {values.length}, values);
        List<Integer> sorted = java.util.stream.IntStream.range(0, values.length).boxed()
                .sorted((a, b) -> values[a] != values[b] ? Float.compare(values[b], values[a]) : Integer.compare(a, b))
                .toList();
        for (int k : new int[] {1, 2, 7, 100, 5_000}) {
            List<String> expected = sorted.subList(0, k).stream()
                    .map(i -> Classification.fixed(values[i]) + ":" + i).toList();
            assertThat(texts(Classification.top(t, k, false))).as("k=%d", k).containsExactlyElementsOf(expected);
        }
    }

    @Test
    void nanRanksFirstAndZerosTie() {
        Tensor t = floats(new long[] {4}, 1, Float.NaN, -0f, 0f);
        assertThat(texts(Classification.top(t, 4, false))).containsExactly("nan:1", "1.000000:0", "-0.000000:2", "0.000000:3");
    }

    @Test
    void halvesAreRead() {
        assertThat(Classification.half((short) 0x3C00)).isEqualTo(1f);
        assertThat(Classification.half((short) 0xC000)).isEqualTo(-2f);
        assertThat(Classification.half((short) 0x0001)).isEqualTo(0x1p-24f);
        assertThat(Classification.half((short) 0x7C00)).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(Classification.half((short) 0x3555)).isEqualTo(0.33325195f);
    }

    @Test
    void outputsNotAskedForStayAsTheyAre() {
        Tensor values = floats(new long[] {1, 2}, 1, 2);
        Tensor other = new Tensor("other", Datatype.FP32, new long[] {1, 1}, ByteBuffer.allocate(4));
        List<Tensor> out = Classification.apply(List.of(values, other), Map.of("out", 1), true);
        assertThat(texts(out.get(0))).containsExactly("2.000000:1");
        assertThat(out.get(1)).isSameAs(other);
        assertThat(Classification.apply(List.of(values), Map.of(), true)).containsExactly(values);
    }
}
