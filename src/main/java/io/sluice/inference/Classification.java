package io.sluice.inference;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Triton's classification extension: an output asked for with the {@code classification} parameter comes
 * back as its top {@code count} classes instead of its values, a BYTES tensor whose elements read
 * {@code "<value>:<index>"}, highest value first (ties: the lower index first). For a batching model each row
 * is ranked on its own, giving {@code [rows, count]}; otherwise the whole tensor is ranked, giving {@code
 * [count]}. A count past the number of classes gives every class. Values print as C's {@code std::to_string}
 * does, as Triton prints them: six decimals for floating point, whole numbers for integers. Sluice has no
 * label files, so no {@code :<label>} follows.
 */
public final class Classification {

    private Classification() {}

    /**
     * Whether {@code datatype} can be ranked: every numeric type, not BOOL or BYTES.
     */
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
        long elements = t.elementCount();
        int rows = batched && t.shape().length > 0 ? (int) t.shape()[0] : 1;
        int perRow = rows == 0 ? 0 : (int) (elements / rows);
        int k = Math.min(count, perRow);
        ByteBuffer values = t.view();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int row = 0; row < rows; row++) {
            Integer[] order = new Integer[perRow];
            double[] value = new double[perRow];
            for (int i = 0; i < perRow; i++) {
                order[i] = i;
                value[i] = read(values, t.datatype(), row * perRow + i);
            }
            Arrays.sort(order, (a, b) -> value[a] != value[b] ? Double.compare(value[b], value[a])
                    : Integer.compare(a, b));
            for (int i = 0; i < k; i++) {
                byte[] text = (print(t.datatype(), value[order[i]], values, row * perRow + order[i]) + ":" + order[i])
                        .getBytes(StandardCharsets.UTF_8);
                out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(text.length).array());
                out.writeBytes(text);
            }
        }
        long[] shape = batched && t.shape().length > 0 ? new long[] {rows, k} : new long[] {k};
        return new Tensor(t.name(), Datatype.BYTES, shape, ByteBuffer.wrap(out.toByteArray()));
    }

    private static double read(ByteBuffer b, Datatype type, int i) {
        return switch (type) {
            case UINT8 -> b.get(i) & 0xFF;
            case INT8 -> b.get(i);
            case UINT16 -> b.getShort(2 * i) & 0xFFFF;
            case INT16 -> b.getShort(2 * i);
            case UINT32 -> b.getInt(4 * i) & 0xFFFF_FFFFL;
            case INT32 -> b.getInt(4 * i);
            case UINT64 -> unsigned(b.getLong(8 * i));
            case INT64 -> b.getLong(8 * i);
            case FP16 -> half(b.getShort(2 * i));
            case BF16 -> Float.intBitsToFloat((b.getShort(2 * i) & 0xFFFF) << 16);
            case FP32 -> b.getFloat(4 * i);
            case FP64 -> b.getDouble(8 * i);
            case BOOL, BYTES -> throw new IllegalArgumentException(type + " cannot be ranked");
        };
    }

    /**
     * The value as text: 64-bit integers exactly (a double holds only 53 bits), other integers whole, floats
     * with six decimals.
     */
    private static String print(Datatype type, double value, ByteBuffer b, int i) {
        return switch (type) {
            case INT64 -> Long.toString(b.getLong(8 * i));
            case UINT64 -> Long.toUnsignedString(b.getLong(8 * i));
            case UINT8, INT8, UINT16, INT16, UINT32, INT32 -> Long.toString((long) value);
            default -> String.format(Locale.ROOT, "%f", value);
        };
    }

    private static double unsigned(long v) {
        return v >= 0 ? v : (double) (v >>> 1) * 2 + (v & 1);
    }

    /** An IEEE 754 half (binary16) as a float. */
    static float half(short h) {
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
