package io.sluice.bench;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * One named tensor with its data as raw little-endian row-major bytes, the layout of the binary
 * tensor extension and of gRPC {@code raw_*_contents}. Only FP32 and INT64 are needed here.
 */
record Tensor(String name, String datatype, long[] shape, byte[] raw) {

    static Tensor int64(String name, long[] shape, long[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(values);
        return new Tensor(name, "INT64", shape, b.array());
    }

    static Tensor fp32(String name, long[] shape, float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return new Tensor(name, "FP32", shape, b.array());
    }

    static int elementSize(String datatype) {
        switch (datatype) {
            case "INT64":
            case "FP64":
            case "UINT64":
                return 8;
            case "FP32":
            case "INT32":
            case "UINT32":
                return 4;
            case "FP16":
            case "INT16":
            case "UINT16":
                return 2;
            default:
                return 1;
        }
    }

    static long elements(long[] shape) {
        return Arrays.stream(shape).reduce(1, (a, b) -> a * b);
    }

    long elements() {
        return elements(shape);
    }

    ByteBuffer buffer() {
        return ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
    }

    long[] longs() {
        long[] out = new long[raw.length / 8];
        buffer().asLongBuffer().get(out);
        return out;
    }

    float[] floats() {
        float[] out = new float[raw.length / 4];
        buffer().asFloatBuffer().get(out);
        return out;
    }
}
