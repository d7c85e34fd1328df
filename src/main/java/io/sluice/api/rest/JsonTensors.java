package io.sluice.api.rest;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBuf;
import io.sluice.inference.Datatype;
import io.sluice.inference.InferenceException;
import io.sluice.inference.Tensor;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * JSON tensor data to and from the wire layout. Input {@code data} may be flat or nested (row-major, and
 * {@link Rectangular} when nested) and must hold exactly the elements the shape describes, each in range for its datatype. Output
 * data is written flat, straight from the bytes, without boxing.
 */
final class JsonTensors {

    private static final BigInteger UINT64_MAX = BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE);
    private static final byte[] NAN = "\"NaN\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] INFINITY = "\"Infinity\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] MINUS_INFINITY = "\"-Infinity\"".getBytes(StandardCharsets.US_ASCII);

    private JsonTensors() {}

    /** Whether an input of {@code type} may come as JSON {@code data}: all but BF16, which JSON has no form for. */
    static boolean travelsAsJson(Datatype type) {
        return type != Datatype.BF16;
    }

    /**
     * Decodes the {@code data} of input {@code name}, token by token straight into the tensor's buffer: no
     * tree and no boxed element is built, so the heap it takes is the tensor's own size.
     *
     * @param data its byte range in the body; null when the input has none
     */
    static ByteBuffer decode(ObjectMapper json, String name, Datatype type, long[] shape, JsonBody.Span data) {
        if (!travelsAsJson(type)) {
            throw invalid(name, "is BF16, which travels only as binary data");
        }
        long expected = Tensor.elementCount(shape);
        try (JsonParser p = data == null ? null : JsonBody.parser(json, data)) {
            if (p == null || p.nextToken() == JsonToken.VALUE_NULL) {
                throw invalid(name, "has no data and no binary_data_size");
            }
            Elements out = type == Datatype.BYTES ? new Strings(name) : new Fixed(name, type, expected);
            long count = elements(name, p, out, expected);
            if (count != expected) {
                throw invalid(name, "has " + count + " elements in data, but shape "
                        + java.util.Arrays.toString(shape) + " needs " + expected);
            }
            return out.buffer();
        } catch (ArithmeticException tooLarge) {
            throw invalid(name, "has more data than a tensor can hold");
        } catch (JsonProcessingException e) {
            throw invalid(name, "has malformed data: " + JsonBody.reason(e));
        } catch (IOException e) {
            throw invalid(name, "has unreadable data: " + e.getMessage());
        }
    }

    /**
     * Feeds every element of the (flat or nested) value at {@code p} to {@code out}; past {@code limit} only counts.
     * Nested data must be {@link Rectangular}.
     */
    private static long elements(String name, JsonParser p, Elements out, long limit) throws IOException {
        long count = 0;
        int depth = 0;
        Rectangular nesting = new Rectangular();
        JsonToken t = p.currentToken();
        while (true) {
            String ragged;
            if (t == JsonToken.START_ARRAY) {
                depth++;
                ragged = nesting.open();
            } else if (t == JsonToken.END_ARRAY) {
                depth--;
                ragged = nesting.close();
            } else if (t == JsonToken.START_OBJECT) {
                throw invalid(name, "has an object inside data");
            } else {
                ragged = nesting.value();
                if (ragged == null && count < limit) {
                    out.put(p, (int) count);
                }
                count++;
            }
            if (ragged != null) {
                throw invalid(name, ragged);
            }
            if (depth == 0) {
                return count;
            }
            t = p.nextToken();
        }
    }

    /** Where decoded elements go. */
    private interface Elements {
        void put(JsonParser p, int index) throws IOException;

        ByteBuffer buffer();
    }

    /**
     * Fixed-size elements, range-checked, little-endian. The buffer grows with the elements that come (by
     * doubling, up to what the shape needs), never to what the shape claims before they come: a shape of
     * millions with one element in a body of whitespace costs a few KB, not the claimed tensor.
     */
    private static final class Fixed implements Elements {
        private static final int FIRST_ELEMENTS = 1024;
        private final String name;
        private final Datatype type;
        private final long expected;
        private ByteBuffer out;

        Fixed(String name, Datatype type, long expected) {
            this.name = name;
            this.type = type;
            this.expected = expected;
            this.out = allocate(Math.min(expected, FIRST_ELEMENTS));
        }

        private ByteBuffer allocate(long elements) {
            return ByteBuffer.allocate(Math.toIntExact(elements * type.size())).order(ByteOrder.LITTLE_ENDIAN);
        }

        @Override
        public void put(JsonParser p, int index) throws IOException {
            if (!out.hasRemaining()) {
                ByteBuffer bigger = allocate(Math.min(expected, 2L * out.capacity() / type.size()));
                out = bigger.put(out.flip());
            }
            switch (type) {
                case BOOL -> {
                    JsonToken t = p.currentToken();
                    if (t != JsonToken.VALUE_TRUE && t != JsonToken.VALUE_FALSE) {
                        throw element(name, index, p, "true or false");
                    }
                    out.put((byte) (t == JsonToken.VALUE_TRUE ? 1 : 0));
                }
                case UINT8 -> out.put((byte) integer(name, index, p, 0, 0xFF));
                case UINT16 -> out.putShort((short) integer(name, index, p, 0, 0xFFFF));
                case UINT32 -> out.putInt((int) integer(name, index, p, 0, 0xFFFFFFFFL));
                case UINT64 -> out.putLong(unsigned64(name, index, p));
                case INT8 -> out.put((byte) integer(name, index, p, Byte.MIN_VALUE, Byte.MAX_VALUE));
                case INT16 -> out.putShort((short) integer(name, index, p, Short.MIN_VALUE, Short.MAX_VALUE));
                case INT32 -> out.putInt((int) integer(name, index, p, Integer.MIN_VALUE, Integer.MAX_VALUE));
                case INT64 -> out.putLong(integer(name, index, p, Long.MIN_VALUE, Long.MAX_VALUE));
                case FP16 -> {
                    // from the client's digits, which read as a double first could land on a tie they are not on
                    short h = p.currentToken().isNumeric() && !p.isNaN() ? Half.fromText(p.getText())
                            : Half.fromDouble(number(name, index, p));
                    inRange(name, index, p, (h & 0x7FFF) == 0x7C00, "65504");
                    out.putShort(h);
                }
                // parsing the client's digits straight to a float rounds once, exactly as they say
                case FP32 -> {
                    float f = p.currentToken().isNumeric() && !p.isNaN() ? Float.parseFloat(p.getText())
                            : (float) number(name, index, p);
                    inRange(name, index, p, Float.isInfinite(f), "3.4028235E38");
                    out.putFloat(f);
                }
                case FP64 -> {
                    double d = number(name, index, p);
                    inRange(name, index, p, Double.isInfinite(d), "1.7976931348623157E308");
                    out.putDouble(d);
                }
                case BF16, BYTES -> throw new IllegalStateException(type.name());
            }
        }

        @Override
        public ByteBuffer buffer() {
            return out.flip();
        }
    }

    /** BYTES elements: strings, each written as a little-endian length and its UTF-8 bytes. */
    private static final class Strings implements Elements {
        private final String name;
        private byte[] bytes = new byte[256];
        private int size;

        Strings(String name) {
            this.name = name;
        }

        /**
         * A JSON string may escape half of a surrogate pair alone ({@code "\\ud800"}), which is no character:
         * encoding would turn it into {@code ?}, and a request is refused rather than altered.
         */
        private void checkPairs(String text, int index) {
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                    i++;
                } else if (Character.isSurrogate(c)) {
                    throw invalid(name, String.format("element %d holds the unpaired surrogate \\u%04X, which is not a "
                            + "character (UTF-8 cannot encode it)", index, (int) c));
                }
            }
        }

        @Override
        public void put(JsonParser p, int index) throws IOException {
            if (p.currentToken() != JsonToken.VALUE_STRING) {
                throw element(name, index, p, "a string");
            }
            String text = p.getText();
            checkPairs(text, index);
            byte[] b = text.getBytes(StandardCharsets.UTF_8);
            int needed = size + 4 + b.length;
            if (needed < 0) {
                throw invalid(name, "has more string data than a tensor can hold");
            }
            if (needed > bytes.length) {
                bytes = java.util.Arrays.copyOf(bytes, (int) Math.min(Integer.MAX_VALUE - 8,
                        Math.max(needed, 2L * bytes.length)));
            }
            ByteBuffer.wrap(bytes, size, 4).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length);
            System.arraycopy(b, 0, bytes, size + 4, b.length);
            size = needed;
        }

        @Override
        public ByteBuffer buffer() {
            return ByteBuffer.wrap(bytes, 0, size).slice().order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    private static long integer(String name, int index, JsonParser p, long min, long max) throws IOException {
        if (p.currentToken() != JsonToken.VALUE_NUMBER_INT || p.getNumberType() == JsonParser.NumberType.BIG_INTEGER
                || p.getLongValue() < min || p.getLongValue() > max) {
            throw element(name, index, p, "an integer in [" + min + ", " + max + "]");
        }
        return p.getLongValue();
    }

    private static long unsigned64(String name, int index, JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.VALUE_NUMBER_INT || p.getBigIntegerValue().signum() < 0
                || p.getBigIntegerValue().compareTo(UINT64_MAX) > 0) {
            throw element(name, index, p, "an integer in [0, 18446744073709551615]");
        }
        return p.getBigIntegerValue().longValue();
    }

    private static double number(String name, int index, JsonParser p) throws IOException {
        if (p.currentToken().isNumeric()) {
            // a bare NaN, Infinity or -Infinity (Jackson's isNaN covers all three) is Jackson's to read: its text may
            // be one Java does not parse (+INF)
            return p.isNaN() ? p.getDoubleValue() : Double.parseDouble(p.getText());
        }
        if (p.currentToken() == JsonToken.VALUE_STRING) {
            switch (p.getText()) {
                case "NaN", "nan":
                    return Double.NaN;
                case "Infinity", "inf":
                    return Double.POSITIVE_INFINITY;
                case "-Infinity", "-inf":
                    return Double.NEGATIVE_INFINITY;
                default:
            }
        }
        throw element(name, index, p, "a number");
    }

    /**
     * Refuses a number written out in digits that is too large for the datatype (it would be stored as an
     * infinity the client never sent); the strings {@code "Infinity"} and {@code "inf"}, and the bare token
     * {@code Infinity}, ask for one.
     */
    private static void inRange(String name, int index, JsonParser p, boolean infinite, String largest)
            throws IOException {
        if (infinite && p.currentToken().isNumeric() && !p.isNaN()) {
            throw element(name, index, p, "a number no larger in magnitude than " + largest);
        }
    }

    /** Writes {@code tensor}'s {@code name}, {@code datatype} and {@code shape} into the object {@code json} has open. */
    static void writeHead(JsonGenerator json, Tensor tensor) throws IOException {
        json.writeStringField("name", tensor.name());
        json.writeStringField("datatype", tensor.datatype().name());
        json.writeArrayFieldStart("shape");
        for (long d : tensor.shape()) {
            json.writeNumber(d);
        }
        json.writeEndArray();
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

    private static InferenceException.InvalidInput element(String name, int index, JsonParser p, String expected)
            throws IOException {
        return invalid(name, "element " + index + " is " + JsonBody.shown(p) + ", expected " + expected);
    }
}
