package io.sluice.api.rest;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.inference.InferenceException;
import io.sluice.inference.RequestValidation;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The JSON of an infer request read as a tree, except each input's {@code data}, which is only skipped
 * and kept as its byte range in the body ({@link Span}) for {@link JsonTensors} to decode straight into
 * the tensor's buffer. A tree of the data would cost some 60-85 bytes of heap per element: a 64 MB body
 * of small numbers, about 1.4 GB.
 */
final class JsonBody {

    /** Bytes {@code [start, end)} of the body holding one JSON value. */
    record Span(byte[] body, int start, int end) {}

    /**
     * One input: every field but {@code data}, and {@code data}'s span (null when absent).
     */
    record Input(ObjectNode fields, Span data) {}

    /**
     * The request: every top-level field but {@code inputs}, and the inputs (null when {@code inputs} is
     * absent or not an array, which {@code root} then holds).
     */
    record Request(ObjectNode root, List<Input> inputs) {}

    /**
     * Most JSON tokens a request may have outside its inputs' {@code data}: its ids, shapes, datatypes, parameters
     * and outputs. Those are read as trees, at some 60-85 bytes of heap a node, so a request made of them alone (a
     * 64 MB shape, a million inputs with names only, a field no request has) would otherwise cost gigabytes.
     */
    static final int MAX_TOKENS_OUTSIDE_DATA = 100_000;

    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.nativeOrder());

    private JsonBody() {}

    /**
     * Reads the JSON object in {@code body[0, length)}.
     *
     * @throws InferenceException.InvalidInput for malformed JSON, anything but one object, or an input that
     *     is not an object
     */
    static Request read(ObjectMapper json, byte[] body, int length) {
        Malformed malformed = malformedUtf8(body, length);
        if (malformed != null) { // Jackson would decode an overlong form as the character it spells, and more past U+10FFFF
            throw new InferenceException.InvalidInput("request body is not UTF-8: " + (malformed.length() == 1 ? "byte "
                    : "bytes ") + hex(body, malformed) + " at offset " + malformed.at() + (malformed.length() == 1 ? " is"
                    : " are") + " no UTF-8 character (a stray or missing continuation byte, an overlong form, a surrogate"
                    + " or a code point past U+10FFFF); JSON must be sent in UTF-8");
        }
        try (JsonParser p = json.createParser(body, 0, length)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new InferenceException.InvalidInput("request body must be a JSON object");
            }
            ObjectNode root = json.createObjectNode();
            List<Input> inputs = null;
            int[] budget = {MAX_TOKENS_OUTSIDE_DATA};
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                if (field.equals("inputs") && value == JsonToken.START_ARRAY) {
                    inputs = new ArrayList<>();
                    while (p.nextToken() != JsonToken.END_ARRAY) {
                        if (p.currentToken() != JsonToken.START_OBJECT) {
                            throw new InferenceException.InvalidInput("every element of 'inputs' must be an object");
                        }
                        spend(budget);
                        inputs.add(input(json, p, body, budget));
                    }
                    root.remove("inputs");
                } else {
                    root.set(field, tree(json, p, body, budget));
                    if (field.equals("inputs")) {
                        inputs = null;
                    }
                }
            }
            if (p.nextToken() != null) {
                throw new InferenceException.InvalidInput("request body has more after its JSON object");
            }
            return new Request(root, inputs);
        } catch (JsonProcessingException e) {
            throw new InferenceException.InvalidInput("malformed JSON: " + reason(e));
        } catch (IOException e) {
            throw new InferenceException.InvalidInput("unreadable body: " + e.getMessage());
        }
    }

    private static Input input(ObjectMapper json, JsonParser p, byte[] body, int[] budget) throws IOException {
        ObjectNode fields = json.createObjectNode();
        Span data = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            spend(budget);
            p.nextToken();
            if (field.equals("data") && p.currentToken() == JsonToken.VALUE_NULL) {
                data = null; // no data, as KServe's client writes an empty binary input: "data": null beside binary_data_size
            } else if (field.equals("data")) {
                long start = p.currentTokenLocation().getByteOffset();
                if (start < 0) { // a UTF-16 or UTF-32 body: Jackson reads it as characters, without byte offsets
                    throw new InferenceException.InvalidInput("request body must be JSON in UTF-8");
                }
                if (p.currentToken().isStructStart()) {
                    p.skipChildren(); // checks the syntax, builds nothing
                } else {
                    p.finishToken(); // a string is read lazily: its end is known only once it is read
                }
                data = new Span(body, (int) start, (int) p.currentLocation().getByteOffset());
            } else {
                fields.set(field, tree(json, p, body, budget));
            }
        }
        return new Input(fields, data);
    }

    /**
     * The value at the parser as a tree, once its tokens are counted against {@code budget}: an array or object
     * is first skipped token by token, building nothing, then read again from its bytes.
     */
    private static JsonNode tree(ObjectMapper json, JsonParser p, byte[] body, int[] budget) throws IOException {
        if (!p.currentToken().isStructStart()) {
            spend(budget);
            return json.readTree(p);
        }
        long start = p.currentTokenLocation().getByteOffset();
        if (start < 0) {
            throw new InferenceException.InvalidInput("request body must be JSON in UTF-8");
        }
        int depth = 0;
        do {
            spend(budget);
            JsonToken t = p.currentToken();
            if (t.isStructStart()) {
                depth++;
            } else if (t.isStructEnd()) {
                depth--;
            }
        } while (depth > 0 && p.nextToken() != null);
        int end = (int) p.currentLocation().getByteOffset();
        try (JsonParser again = json.createParser(body, (int) start, end - (int) start)) {
            again.nextToken();
            return json.readTree(again);
        }
    }

    /** Bytes {@code [at, at + length)} of a body that are no UTF-8 character, as the JDK's decoder delimits them. */
    record Malformed(int at, int length) {}

    /**
     * Where {@code body[0, length)} stops being UTF-8 as RFC 3629 has it, or null when it is. The JDK's decoder is
     * strict (no overlong forms, no surrogates, nothing past U+10FFFF, no cut sequence), where Jackson's reader
     * decodes {@code C1 A1} as "a" and a five-byte form as two lone surrogates. ASCII, all a numeric body holds, is
     * passed eight bytes at a time.
     */
    static Malformed malformedUtf8(byte[] body, int length) {
        int i = 0;
        while (i + Long.BYTES <= length && ((long) LONGS.get(body, i) & 0x8080_8080_8080_8080L) == 0) {
            i += Long.BYTES;
        }
        while (i < length && body[i] >= 0) {
            i++;
        }
        if (i == length) {
            return null;
        }
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(body, i, length - i);
        CharBuffer out = CharBuffer.allocate(4096);
        while (true) {
            CoderResult result = decoder.decode(in, out, true);
            if (result.isError()) {
                return new Malformed(in.position(), result.length());
            }
            if (result.isUnderflow()) {
                return null;
            }
            out.clear(); // full: the characters themselves are not wanted
        }
    }

    /** The bytes of {@code malformed}, in hex for a message. */
    private static String hex(byte[] body, Malformed malformed) {
        StringBuilder text = new StringBuilder();
        for (int i = malformed.at(); i < malformed.at() + malformed.length(); i++) {
            text.append(i == malformed.at() ? "" : " ").append(String.format("0x%02X", body[i] & 0xFF));
        }
        return text.toString();
    }

    /** Counts one JSON value against the request's {@code budget}. */
    private static void spend(int[] budget) {
        if (--budget[0] < 0) {
            throw new InferenceException.InvalidInput("request has more than " + MAX_TOKENS_OUTSIDE_DATA
                    + " JSON values outside its inputs' data (ids, shapes, parameters, outputs, unknown fields)");
        }
    }

    /** A new parser over {@code span}, positioned before its value. */
    static JsonParser parser(ObjectMapper json, Span span) throws IOException {
        return json.createParser(span.body(), span.start(), span.end() - span.start());
    }

    /**
     * Why the JSON parser stopped, for a client: Jackson's words without its advice to the server's own code (how to
     * switch a feature on, which constraint method holds a limit), and where in the JSON it stopped.
     */
    static String reason(JsonProcessingException e) {
        String message = String.valueOf(e.getOriginalMessage())
                .replaceAll(":? ?enable `[^`]*` to allow", "")
                .replaceAll(", from `[^`]*`", "")
                // a location inside the message (where an unclosed object started): line and column, not the
                // "[Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); ...]" around them
                .replaceAll("\\[Source: [^;\\]]*; line: (\\d+), column: (\\d+)\\]", "line $1, column $2");
        com.fasterxml.jackson.core.JsonLocation at = e.getLocation();
        return at == null || at.getLineNr() < 1 ? message
                : message + " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")";
    }

    /**
     * A JSON value's text for a message: strings quoted, others as written, cut as {@link RequestValidation#cut} cuts
     * them (a client's 9 MB string is not sent back to it).
     */
    static String shown(JsonParser p) throws IOException {
        String text = RequestValidation.cut(p.getText());
        return p.currentToken() == JsonToken.VALUE_STRING ? "\"" + text + "\"" : text;
    }
}
