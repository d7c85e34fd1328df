package io.sluice.inference;

import java.util.Locale;

/**
 * The Open Inference Protocol tensor datatypes. Every tensor inside Sluice carries its bytes in
 * the wire layout of the binary tensor extension: little-endian, row-major, and for {@link #BYTES}
 * each element is a 4-byte little-endian length followed by that many bytes.
 */
public enum Datatype {
    BOOL(1),
    UINT8(1),
    UINT16(2),
    UINT32(4),
    UINT64(8),
    INT8(1),
    INT16(2),
    INT32(4),
    INT64(8),
    FP16(2),
    BF16(2),
    FP32(4),
    FP64(8),
    BYTES(-1);

    private final int size;

    Datatype(int size) {
        this.size = size;
    }

    /** Bytes per element, or -1 for {@link #BYTES}, whose elements have variable length. */
    public int size() {
        return size;
    }

    /** True when elements have a fixed size. */
    public boolean fixedSize() {
        return size > 0;
    }

    /** The name in a Triton model configuration: {@code TYPE_} and the OIP name, {@code TYPE_STRING} for BYTES. */
    public String configName() {
        return this == BYTES ? "TYPE_STRING" : "TYPE_" + name();
    }

    /**
     * Parses an OIP datatype name.
     *
     * @throws InferenceException.InvalidInput naming the unknown datatype
     */
    public static Datatype parse(String name, String tensor) {
        if (name == null) {
            throw new InferenceException.InvalidInput("input '" + tensor + "' has no datatype");
        }
        try {
            // in any case of ASCII letters: Unicode's case rules would read "\u0131nt64" (a dotless i) as INT64
            for (int i = 0; i < name.length(); i++) {
                if (name.charAt(i) >= 0x80) {
                    throw new IllegalArgumentException(name);
                }
            }
            return valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new InferenceException.InvalidInput(
                    "input '" + tensor + "' has unknown datatype '" + name + "'");
        }
    }
}
