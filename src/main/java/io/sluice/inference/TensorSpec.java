package io.sluice.inference;

import java.util.Arrays;

/**
 * What a model declares for one input or output.
 *
 * @param name tensor name
 * @param datatype OIP datatype
 * @param shape dimensions, -1 for a variable dimension
 */
public record TensorSpec(String name, Datatype datatype, long[] shape) {

    /** True when the first dimension is variable, so requests can be stacked along it. */
    public boolean dynamicBatch() {
        return shape.length > 0 && shape[0] == -1;
    }

    /** True when {@code actual} fits this spec: same rank, and equal wherever this spec is fixed. */
    public boolean accepts(long[] actual) {
        if (actual.length != shape.length) {
            return false;
        }
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] != -1 && shape[i] != actual[i]) {
                return false;
            }
        }
        return true;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorSpec t
                && name.equals(t.name)
                && datatype == t.datatype
                && Arrays.equals(shape, t.shape);
    }

    @Override
    public int hashCode() {
        return name.hashCode();
    }

    @Override
    public String toString() {
        return name + ":" + datatype + Arrays.toString(shape);
    }
}
