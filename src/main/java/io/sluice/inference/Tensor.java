package io.sluice.inference;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A named tensor. Its bytes are in the wire layout of the binary tensor extension (little-endian,
 * row-major; BYTES elements length-prefixed), so that REST binary, gRPC raw contents and the ONNX
 * input buffer share one representation and the cache key is the same for every protocol.
 *
 * @param name tensor name
 * @param datatype OIP datatype
 * @param shape dimensions, all non-negative
 * @param data the bytes, position 0 to limit; never modified after construction
 */
public record Tensor(String name, Datatype datatype, long[] shape, ByteBuffer data) {

    public Tensor {
        data = data.slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Number of elements the shape describes. */
    public long elementCount() {
        return elementCount(shape);
    }

    /** Number of bytes of data. */
    public int byteSize() {
        return data.remaining();
    }

    /** A read-only little-endian view of the data, positioned at 0. */
    public ByteBuffer view() {
        return data.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Refuses a request's shape with a dimension past {@link Integer#MAX_VALUE}, even beside a 0 (where the product
     * is 0 and no byte count catches it): such a shape never reaches ONNX Runtime, whose own checks stop there.
     *
     * @throws ArithmeticException naming the dimension
     */
    public static void checkDimensions(long[] shape) {
        for (long d : shape) {
            if (d > Integer.MAX_VALUE) {
                throw new ArithmeticException("dimension " + d + " is past " + Integer.MAX_VALUE);
            }
        }
    }

    /** Product of the dimensions; 1 for a scalar. */
    public static long elementCount(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** The shape as OIP writes it, e.g. {@code [1, 128]}. */
    public String shapeText() {
        return Arrays.toString(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Tensor t
                && name.equals(t.name)
                && datatype == t.datatype
                && Arrays.equals(shape, t.shape)
                && data.equals(t.data);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * name.hashCode() + datatype.hashCode()) + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + ":" + datatype + shapeText();
    }
}
