package io.sluice.inference;

import java.io.ByteArrayOutputStream;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Triton's classification extension: an output asked for with the {@code classification} parameter comes
 * back as its top {@code count} classes instead of its values, a BYTES tensor whose elements read
 * {@code "<value>:<index>"}, highest value first (ties: the lower index first; NaN above every number). For
 * a model the scheduler batches ({@code max_batch_size > 0} in its configuration) each row is ranked on its
 * own, giving {@code [rows, count]}; otherwise the whole tensor is ranked, giving {@code [count]}. A count past
 * the number of classes gives every class. Values are compared in the tensor's own type (64-bit integers
 * exactly) and print as C's {@code std::to_string} prints them, as Triton does: {@code %f} (six decimals,
 * {@code nan}, {@code inf}) for floating point, whole numbers for integers. Sluice has no label files, so no
 * {@code :<label>} follows. The top classes are selected with a heap of {@code count} entries, so a large
 * output costs one pass, not a sort.
 */
public final class Classification {

    private Classification() {}

    /** Whether {@code datatype} can be ranked: every numeric type, not BOOL or BYTES. */
    public static boolean ranks(Datatype datatype) {
        return datatype != Datatype.BOOL && datatype != Datatype.BYTES;
    }

    /** {@code outputs}, with those named in {@code counts} replaced by their top classes. */
    public static List<Tensor> apply(List<Tensor> outputs, Map<String, Integer> counts, boolean batched) {
        if (counts.isEmpty()) {
            return outputs;
        }
        List<Tensor> result = new ArrayList<>(outputs.size());
        for (Tensor t : outputs) {
            Integer count = counts.get(t.name());
            result.add(count == null ? t : top(t, count, batched));
        }
        return result;
    }

    /** The top {@code count} classes of {@code t}, per row when {@code batched}. */
    static Tensor top(Tensor t, int count, boolean batched) {
        boolean perRowRanking = batched && t.shape().length > 0;
        long elements = t.elementCount();
        int rows = perRowRanking ? (int) t.shape()[0] : 1;
        int perRow = rows == 0 ? 0 : (int) (elements / rows);
        int k = Math.min(count, perRow);
        ByteBuffer values = t.view();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int row = 0; row < rows; row++) {
            Order order = order(values, t.datatype(), row * perRow);
            for (int index : select(order, perRow, k)) {
                byte[] text = (print(values, t.datatype(), row * perRow + index) + ":" + index)
                        .getBytes(StandardCharsets.UTF_8);
                out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(text.length).array());
                out.writeBytes(text);
            }
        }
        long[] shape = perRowRanking ? new long[] {rows, k} : new long[] {k};
        return new Tensor(t.name(), Datatype.BYTES, shape, ByteBuffer.wrap(out.toByteArray()));
    }

    /** Ranks two classes of one row: negative when {@code a} comes first. */
    interface Order {
        int compare(int a, int b);
    }

    /**
     * The {@code k} first classes of a row of {@code n} in {@code order}, first to last: a min-heap of the best
     * {@code k} seen so far (its root the worst of them), then sorted.
     */
    static int[] select(Order order, int n, int k) {
        int[] heap = new int[k];
        int size = 0;
        for (int i = 0; i < n && k > 0; i++) {
            if (size < k) {
                heap[size] = i;
                up(heap, size++, order);
            } else if (order.compare(i, heap[0]) < 0) {
                heap[0] = i;
                down(heap, size, order);
            }
        }
        int[] sorted = new int[size];
        for (int last = size - 1; last >= 0; last--) { // the root is the worst kept: it goes last
            sorted[last] = heap[0];
            heap[0] = heap[last];
            down(heap, last, order);
        }
        return sorted;
    }

    /** Whether heap entry {@code a} ranks after {@code b}: the heap keeps the one ranked last at its root. */
    private static boolean after(int a, int b, Order order) {
        return order.compare(a, b) > 0;
    }

    private static void up(int[] heap, int i, Order order) {
        while (i > 0) {
            int parent = (i - 1) / 2;
            if (!after(heap[i], heap[parent], order)) {
                return;
            }
            int swap = heap[i];
            heap[i] = heap[parent];
            heap[parent] = swap;
            i = parent;
        }
    }

    private static void down(int[] heap, int size, Order order) {
        int i = 0;
        while (true) {
            int left = 2 * i + 1;
            if (left >= size) {
                return;
            }
            int worst = left + 1 < size && after(heap[left + 1], heap[left], order) ? left + 1 : left;
            if (!after(heap[worst], heap[i], order)) {
                return;
            }
            int swap = heap[i];
            heap[i] = heap[worst];
            heap[worst] = swap;
            i = worst;
        }
    }

    /** Highest value first in the tensor's own type, then the lower index; {@code base}: the row's first element. */
    private static Order order(ByteBuffer b, Datatype type, int base) {
        return switch (type) {
            case INT64 -> (x, y) -> tie(Long.compare(b.getLong(8 * (base + y)), b.getLong(8 * (base + x))), x, y);
            case UINT64 -> (x, y) ->
                    tie(Long.compareUnsigned(b.getLong(8 * (base + y)), b.getLong(8 * (base + x))), x, y);
            default -> (x, y) -> {
                double vx = read(b, type, base + x);
                double vy = read(b, type, base + y);
                return tie(vx == vy ? 0 : Double.compare(vy, vx), x, y); // -0 and 0 tie, as C's > has them
            };
        };
    }

    private static int tie(int byValue, int x, int y) {
        return byValue != 0 ? byValue : Integer.compare(x, y);
    }

    /** An element as a double; exact for every type but the 64-bit integers, which {@link #order} compares as longs. */
    private static double read(ByteBuffer b, Datatype type, int i) {
        return switch (type) {
            case UINT8 -> b.get(i) & 0xFF;
            case INT8 -> b.get(i);
            case UINT16 -> b.getShort(2 * i) & 0xFFFF;
            case INT16 -> b.getShort(2 * i);
            case UINT32 -> b.getInt(4 * i) & 0xFFFF_FFFFL;
            case INT32 -> b.getInt(4 * i);
            case INT64 -> b.getLong(8 * i);
            case UINT64 -> unsigned(b.getLong(8 * i));
            case FP16 -> half(b.getShort(2 * i));
            case BF16 -> Float.intBitsToFloat((b.getShort(2 * i) & 0xFFFF) << 16);
            case FP32 -> b.getFloat(4 * i);
            case FP64 -> b.getDouble(8 * i);
            case BOOL, BYTES -> throw new IllegalArgumentException(type + " cannot be ranked");
        };
    }

    /**
     * Element {@code i} as {@code std::to_string} prints it: integers whole (64-bit exactly), floating point as
     * {@code %f}.
     */
    private static String print(ByteBuffer b, Datatype type, int i) {
        return switch (type) {
            case INT64 -> Long.toString(b.getLong(8 * i));
            case UINT64 -> Long.toUnsignedString(b.getLong(8 * i));
            case UINT8, INT8, UINT16, INT16, UINT32, INT32 -> Long.toString((long) read(b, type, i));
            default -> fixed(read(b, type, i));
        };
    }

    /**
     * C's {@code %f}: the exact binary value rounded half-even to six decimals (a float widened to double is
     * exact), {@code -} on every negative value and on -0, and {@code nan}, {@code -nan}, {@code inf},
     * {@code -inf}.
     */
    static String fixed(double v) {
        boolean negative = (Double.doubleToRawLongBits(v) & Long.MIN_VALUE) != 0;
        if (Double.isNaN(v)) {
            return negative ? "-nan" : "nan";
        }
        if (Double.isInfinite(v)) {
            return negative ? "-inf" : "inf";
        }
        String digits = new BigDecimal(Math.abs(v)).setScale(6, RoundingMode.HALF_EVEN).toPlainString();
        return negative ? "-" + digits : digits;
    }

    private static double unsigned(long v) {
        return v >= 0 ? v : (double) (v >>> 1) * 2 + (v & 1);
    }

    /** An IEEE 754 half (binary16) as a float. */
    public static float half(short h) {
        int bits = h & 0xFFFF;
        int sign = (bits & 0x8000) << 16;
        int exponent = (bits >>> 10) & 0x1F;
        int mantissa = bits & 0x3FF;
        if (exponent == 0) {
            float magnitude = mantissa * 0x1p-24f; // subnormal (or zero)
            return sign == 0 ? magnitude : -magnitude;
        }
        if (exponent == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F80_0000 | (mantissa << 13));
        }
        return Float.intBitsToFloat(sign | ((exponent - 15 + 127) << 23) | (mantissa << 13));
    }
}
