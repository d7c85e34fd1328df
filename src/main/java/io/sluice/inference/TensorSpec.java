package io.sluice.inference;

import java.util.Arrays;

/**
 * What a model declares for one input or output.
 *
 * @param name tensor name
 * @param datatype OIP datatype
 * @param shape dimensions, -1 for a variable dimension; {@code [-1]} for a tensor of any rank
 * @param anyRank whether the model declares no shape at all, so that a tensor of any rank fits
 */
public record TensorSpec(String name, Datatype datatype, long[] shape, boolean anyRank) {

    /** A tensor of this shape. */
    public TensorSpec(String name, Datatype datatype, long[] shape) {
        this(name, datatype, shape, false);
    }

    /**
     * A tensor the model declares without a shape: any rank fits, and it is described as {@code [-1]}, as OIP and
     * Triton clients read a variable length. It never batches: its first dimension need not be rows.
     */
    public static TensorSpec ofAnyRank(String name, Datatype datatype) {
        return new TensorSpec(name, datatype, new long[] {-1}, true);
    }

    /** True when the first dimension is variable, so requests can be stacked along it. */
    public boolean dynamicBatch() {
        return !anyRank && shape.length > 0 && shape[0] == -1;
    }

    /** True when {@code actual} fits this spec: any shape when its rank is open, else the same rank, and equal wherever this spec is fixed. */
    public boolean accepts(long[] actual) {
        if (anyRank) {
            return true;
        }
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
                && Arrays.equals(shape, t.shape)
                && anyRank == t.anyRank;
    }

    @Override
    public int hashCode() {
        return name.hashCode();
    }

    @Override
    public String toString() {
        return name + ":" + datatype + (anyRank ? "[any rank]" : Arrays.toString(shape));
    }
}
