package io.sluice.api.rest;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import io.netty.buffer.ByteBuf;
import io.sluice.inference.Datatype;
import io.sluice.inference.InferenceException;
import io.sluice.inference.Tensor;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * JSON tensor data to and from the wire layout. Input {@code data} may be flat or nested (row-major)
 * and must hold exactly the elements the shape describes, each in range for its datatype. Output
 * data is written flat, straight from the bytes, without boxing.
 */
final class JsonTensors {

    private static final BigInteger UINT64_MAX = BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE);
    private static final byte[] NAN = "\"NaN\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] INFINITY = "\"Infinity\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] MINUS_INFINITY = "\"-Infinity\"".getBytes(StandardCharsets.US_ASCII);

    private JsonTensors() {}

    /** Decodes the {@code data} of input {@code name}. */
    static ByteBuffer decode(String name, Datatype type, long[] shape, JsonNode data) {
        if (data == null || data.isNull()) {
            throw invalid(name, "has no data and no binary_data_size");
        }
        if (type == Datatype.BF16) {
            throw invalid(name, "is BF16, which travels only as binary data");
        }
        List<JsonNode> elements = new ArrayList<>();
        flatten(name, data, elements);
        long expected = Tensor.elementCount(shape);
        if (elements.size() != expected) {
            throw invalid(name, "has " + elements.size() + " elements in data, but shape "
                    + java.util.Arrays.toString(shape) + " needs " + expected);
        }
        if (type == Datatype.BYTES) {
            return strings(name, elements);
        }
        ByteBuffer out = ByteBuffer.allocate(elements.size() * type.size()).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < elements.size(); i++) {
            put(name, type, elements.get(i), i, out);
        }
        return out.flip();
    }

    private static void flatten(String name, JsonNode node, List<JsonNode> out) {
        if (node.isArray()) {
            for (JsonNode child : node) {
                flatten(name, child, out);
            }
        } else if (node.isValueNode()) {
            out.add(node);
        } else {
            throw invalid(name, "has an object inside data");
        }
    }

    private static void put(String name, Datatype type, JsonNode v, int index, ByteBuffer out) {
        switch (type) {
            case BOOL -> {
                if (!v.isBoolean()) {
                    throw element(name, index, v, "true or false");
                }
                out.put((byte) (v.booleanValue() ? 1 : 0));
            }
            case UINT8 -> out.put((byte) integer(name, index, v, 0, 0xFF));
            case UINT16 -> out.putShort((short) integer(name, index, v, 0, 0xFFFF));
            case UINT32 -> out.putInt((int) integer(name, index, v, 0, 0xFFFFFFFFL));
            case UINT64 -> out.putLong(unsigned64(name, index, v));
            case INT8 -> out.put((byte) integer(name, index, v, Byte.MIN_VALUE, Byte.MAX_VALUE));
            case INT16 -> out.putShort((short) integer(name, index, v, Short.MIN_VALUE, Short.MAX_VALUE));
            case INT32 -> out.putInt((int) integer(name, index, v, Integer.MIN_VALUE, Integer.MAX_VALUE));
            case INT64 -> out.putLong(integer(name, index, v, Long.MIN_VALUE, Long.MAX_VALUE));
            case FP16 -> out.putShort(Half.fromFloat((float) number(name, index, v)));
            case FP32 -> out.putFloat(v.isNumber() ? Float.parseFloat(v.asText()) : (float) number(name, index, v));
            // numbers arrive as BigDecimal, so parsing their text rounds once, exactly as the client's digits say
            case FP64 -> out.putDouble(number(name, index, v));
            case BF16, BYTES -> throw new IllegalStateException(type.name());
        }
    }

    private static long integer(String name, int index, JsonNode v, long min, long max) {
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < min || v.longValue() > max) {
            throw element(name, index, v, "an integer in [" + min + ", " + max + "]");
        }
        return v.longValue();
    }

    private static long unsigned64(String name, int index, JsonNode v) {
        if (!v.isIntegralNumber() || v.bigIntegerValue().signum() < 0 || v.bigIntegerValue().compareTo(UINT64_MAX) > 0) {
            throw element(name, index, v, "an integer in [0, 18446744073709551615]");
        }
        return v.bigIntegerValue().longValue();
    }

    private static double number(String name, int index, JsonNode v) {
        if (v.isNumber()) {
            return Double.parseDouble(v.asText());
        }
        if (v.isTextual()) {
            switch (v.textValue()) {
                case "NaN", "nan":
                    return Double.NaN;
                case "Infinity", "inf":
                    return Double.POSITIVE_INFINITY;
                case "-Infinity", "-inf":
                    return Double.NEGATIVE_INFINITY;
                default:
            }
        }
        throw element(name, index, v, "a number");
    }

    private static ByteBuffer strings(String name, List<JsonNode> elements) {
        List<byte[]> bytes = new ArrayList<>(elements.size());
        int size = 0;
        for (int i = 0; i < elements.size(); i++) {
            JsonNode v = elements.get(i);
            if (!v.isTextual()) {
                throw element(name, i, v, "a string");
            }
            byte[] b = v.textValue().getBytes(StandardCharsets.UTF_8);
            bytes.add(b);
            size += 4 + b.length;
        }
        ByteBuffer out = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        bytes.forEach(b -> out.putInt(b.length).put(b));
        return out.flip();
    }

    /**
     * Writes {@code tensor}'s elements as a flat JSON array, as the value {@code json} expects next.
     * Floating-point elements up to 32 bits are printed by {@link FloatText} straight into {@code body},
     * the buffer {@code json} writes to (a heap buffer): the generator is told a raw value follows and
     * flushed first.
     */
    static void write(JsonGenerator json, ByteBuf body, Tensor tensor) throws IOException {
        switch (tensor.datatype()) {
            case FP32, FP16, BF16 -> {
                json.writeRawValue("");
                json.flush();
                writeFloats(body, tensor);
            }
            default -> writeWithGenerator(json, tensor);
        }
    }

    private static void writeFloats(ByteBuf body, Tensor tensor) {
        ByteBuffer d = tensor.view();
        Datatype type = tensor.datatype();
        int n = Math.toIntExact(tensor.elementCount());
        body.ensureWritable(Math.toIntExact(2L + (long) n * (FloatText.MAX_LENGTH + 1) + FloatText.ROOM));
        byte[] out = body.array();
        int base = body.arrayOffset();
        int i = base + body.writerIndex();
        out[i++] = '[';
        for (int e = 0; e < n; e++) {
            if (e > 0) {
                out[i++] = ',';
            }
            float v = type == Datatype.FP32 ? d.getFloat()
                    : type == Datatype.FP16 ? Half.toFloat(d.getShort())
                    : Float.intBitsToFloat((d.getShort() & 0xFFFF) << 16); // BF16
            i = Float.isFinite(v) ? FloatText.write(v, out, i) : nonFinite(v, out, i);
        }
        out[i++] = ']';
        body.writerIndex(i - base);
    }

    private static int nonFinite(float v, byte[] out, int at) {
        byte[] text = Float.isNaN(v) ? NAN : v > 0 ? INFINITY : MINUS_INFINITY;
        System.arraycopy(text, 0, out, at, text.length);
        return at + text.length;
    }

    private static void writeWithGenerator(JsonGenerator json, Tensor tensor) throws IOException {
        ByteBuffer d = tensor.view();
        int n = Math.toIntExact(tensor.elementCount());
        json.writeStartArray();
        for (int i = 0; i < n; i++) {
            switch (tensor.datatype()) {
                case BOOL -> json.writeBoolean(d.get() != 0);
                case UINT8 -> json.writeNumber(Byte.toUnsignedInt(d.get()));
                case UINT16 -> json.writeNumber(Short.toUnsignedInt(d.getShort()));
                case UINT32 -> json.writeNumber(Integer.toUnsignedLong(d.getInt()));
                case UINT64 -> json.writeNumber(new BigInteger(Long.toUnsignedString(d.getLong())));
                case INT8 -> json.writeNumber(d.get());
                case INT16 -> json.writeNumber(d.getShort());
                case INT32 -> json.writeNumber(d.getInt());
                case INT64 -> json.writeNumber(d.getLong());
                case FP64 -> writeDouble(json, d.getDouble());
                case FP32, FP16, BF16 -> throw new IllegalStateException(tensor.datatype().name());
                case BYTES -> {
                    byte[] b = new byte[d.getInt()];
                    d.get(b);
                    json.writeString(new String(b, StandardCharsets.UTF_8));
                }
            }
        }
        json.writeEndArray();
    }

    private static void writeDouble(JsonGenerator json, double v) throws IOException {
        if (Double.isFinite(v)) {
            json.writeNumber(v);
        } else {
            json.writeString(Double.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
        }
    }

    private static InferenceException.InvalidInput invalid(String name, String problem) {
        return new InferenceException.InvalidInput("input '" + name + "' " + problem);
    }

    private static InferenceException.InvalidInput element(String name, int index, JsonNode v, String expected) {
        return invalid(name, "element " + index + " is " + v + ", expected " + expected);
    }
}
