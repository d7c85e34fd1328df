package io.sluice.cache;

import io.sluice.inference.Datatype;
import io.sluice.inference.RequestValidation;
import io.sluice.inference.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The binary form of cached outputs, as stored in Redis: a version byte, the tensor count, then per
 * tensor its name, datatype, shape and bytes, all little-endian and length-prefixed.
 */
final class CachedOutputs {

    private static final byte VERSION = 1;

    private CachedOutputs() {}

    /** Compact copies of {@code outputs}: a cached tensor must not pin the whole batch buffer it was split from. */
    static List<Tensor> compact(List<Tensor> outputs) {
        List<Tensor> copies = new ArrayList<>(outputs.size());
        for (Tensor t : outputs) {
            ByteBuffer data = ByteBuffer.allocate(t.byteSize()).order(ByteOrder.LITTLE_ENDIAN).put(t.view()).flip();
            copies.add(new Tensor(t.name(), t.datatype(), t.shape().clone(), data));
        }
        return List.copyOf(copies);
    }

    /**
     * Bytes of heap a cached entry holds: what the L1 tier weighs. Besides the tensors' data and shapes, an entry
     * holds its key and digest, Caffeine's node, the map's and the list, and each tensor its record, buffer, array
     * headers and name (its own when the request named the output): measured on JDK 17 (compressed references,
     * {@code CacheWeightProbe}: 200,000 entries of [1, 4] FP32 outputs named apart) at 396 bytes an entry of one
     * tensor and 596 of two, which this gives within 1 %. For small outputs that is most of the entry: counted at 64
     * bytes an entry and 64 a tensor before, such a cache held about twice its {@code l1.max-bytes}.
     */
    static long weight(List<Tensor> outputs) {
        long bytes = ENTRY_BYTES;
        for (Tensor t : outputs) {
            bytes += TENSOR_BYTES + t.name().length() + 8L * t.shape().length + t.byteSize();
        }
        return bytes;
    }

    /** What an entry holds besides its tensors (see {@link #weight}). */
    static final int ENTRY_BYTES = 200;
    /** What a tensor holds besides its data, its shape's dimensions and its name's characters (see {@link #weight}). */
    static final int TENSOR_BYTES = 160;

    /** The length of {@link #encode}'s array, known before anything is copied. */
    static long encodedSize(List<Tensor> outputs) {
        long size = 5;
        for (Tensor t : outputs) {
            size += 4 + t.name().getBytes(StandardCharsets.UTF_8).length + 4 + t.datatype().name().length()
                    + 4 + 8L * t.shape().length + 4 + t.byteSize();
        }
        return size;
    }

    /** The entry Redis holds; {@code outputs} must fit one array ({@link #encodedSize} at most 2 GiB). */
    static byte[] encode(List<Tensor> outputs) {
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(encodedSize(outputs))).order(ByteOrder.LITTLE_ENDIAN);
        out.put(VERSION).putInt(outputs.size());
        for (Tensor t : outputs) {
            byte[] name = t.name().getBytes(StandardCharsets.UTF_8);
            byte[] datatype = t.datatype().name().getBytes(StandardCharsets.US_ASCII);
            out.putInt(name.length).put(name).putInt(datatype.length).put(datatype).putInt(t.shape().length);
            for (long d : t.shape()) {
                out.putLong(d);
            }
            out.putInt(t.byteSize()).put(t.view());
        }
        return out.array();
    }

    /**
     * The outputs in {@code bytes}, or null when they are not a valid entry of this version: framed as
     * {@link #encode} frames, and each tensor's bytes exactly the elements of its shape.
     */
    static List<Tensor> decode(byte[] bytes) {
        try {
            ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            if (in.get() != VERSION) {
                return null;
            }
            // every count is checked against the bytes left before anything is allocated for it: a corrupt
            // entry is a miss, never an OutOfMemoryError
            int count = length(in, 1);
            if (count == 0) { // no answer has no outputs: another writer's value
                return null;
            }
            List<Tensor> outputs = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                byte[] name = new byte[length(in, 1)];
                in.get(name);
                byte[] type = new byte[length(in, 1)];
                in.get(type);
                Datatype datatype = Datatype.valueOf(new String(type, StandardCharsets.US_ASCII));
                long[] shape = new long[length(in, Long.BYTES)];
                for (int d = 0; d < shape.length; d++) {
                    shape[d] = in.getLong();
                }
                byte[] data = new byte[length(in, 1)];
                in.get(data);
                Tensor t = new Tensor(new String(name, StandardCharsets.UTF_8), datatype, shape,
                        ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN));
                // framing alone is not enough: bytes that do not hold the elements the shape says (another
                // writer's value, a torn one) would fail the answer's writer, or go out as a wrong tensor
                for (long d : shape) {
                    if (d < 0) {
                        return null;
                    }
                }
                Tensor.checkDimensions(shape);
                RequestValidation.checkLayout(t);
                outputs.add(t);
            }
            return in.hasRemaining() ? null : outputs;
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** A count of items of {@code itemBytes} each read from {@code in}, which must still hold them all. */
    private static int length(ByteBuffer in, int itemBytes) {
        int n = in.getInt();
        if (n < 0 || (long) n * itemBytes > in.remaining()) {
            throw new IllegalArgumentException("a count of " + n + " with " + in.remaining() + " bytes left");
        }
        return n;
    }
}
