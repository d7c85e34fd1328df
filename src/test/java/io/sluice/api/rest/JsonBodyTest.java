package io.sluice.api.rest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.inference.Datatype;
import io.sluice.inference.InferenceException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The request JSON read with each input's data left as a byte range, and that data decoded token by token. */
class JsonBodyTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonBody.Request read(String json) {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        return JsonBody.read(JSON, body, body.length);
    }

    private static String text(JsonBody.Span span) {
        return new String(span.body(), span.start(), span.end() - span.start(), StandardCharsets.UTF_8);
    }

    @Test
    void eachInputsDataIsItsExactByteRangeWhereverItStands() {
        JsonBody.Request r = read("{\"id\":\"x\",\"inputs\":[{\"data\":[[1, 2],[3,4]],\"name\":\"A\",\"shape\":[2,2]},"
                + "{\"name\":\"B\",\"data\":\"h\\u00e9\\\"llo\"},{\"name\":\"C\",\"data\": 7 },{\"name\":\"D\"}],\"outputs\":[]}");
        assertThat(r.root().get("id").textValue()).isEqualTo("x");
        assertThat(r.root().has("inputs")).isFalse();
        assertThat(r.root().get("outputs").isArray()).isTrue();
        List<String> spans = new ArrayList<>();
        r.inputs().forEach(in -> spans.add(in.data() == null ? null : text(in.data())));
        assertThat(spans).containsExactly("[[1, 2],[3,4]]", "\"h\\u00e9\\\"llo\"", "7", null);
        assertThat(r.inputs().get(0).fields().get("name").textValue()).isEqualTo("A");
        assertThat(r.inputs().get(0).fields().has("data")).isFalse();
    }

    @Test
    void malformedJsonIsExplainedWithoutTheParsersAdviceToItsOwnCodeAndWithWhereItStopped() {
        assertThatThrownBy(() -> read("{\"id\":+1}"))
                .hasMessage("malformed JSON: Unexpected character ('+' (code 43)) in numeric value: JSON spec does not"
                        + " allow numbers to have plus signs (line 1, column 8)");
        assertThatThrownBy(() -> read("{\"id\":1" + "0".repeat(2000) + "}"))
                .hasMessageStartingWith("malformed JSON: Number value length (")
                .hasMessageContaining("exceeds the maximum allowed (1000)")
                .hasMessageNotContaining("StreamReadConstraints");
    }

    @Test
    void fieldsOutsideDataAreReadAsTreesWithinABudget() {
        JsonBody.Request r = read("{\"parameters\":{\"a\":{\"b\":[1,2]}},\"unknown\":[[true]],"
                + "\"inputs\":[{\"name\":\"A\",\"shape\":[1,2],\"parameters\":{\"c\":\"d\"},\"data\":[5,6]}]}");
        assertThat(r.root().get("parameters").get("a").get("b").get(1).asInt()).isEqualTo(2);
        assertThat(r.root().get("unknown").get(0).get(0).asBoolean()).isTrue();
        assertThat(r.inputs().get(0).fields().get("shape").get(1).asInt()).isEqualTo(2);
        assertThat(r.inputs().get(0).fields().get("parameters").get("c").asText()).isEqualTo("d");
        assertThat(text(r.inputs().get(0).data())).isEqualTo("[5,6]");

        // a 64 MB shape would be gigabytes as a tree: refused once it passes the budget, before any tree is built
        String ones = "1,".repeat(JsonBody.MAX_TOKENS_OUTSIDE_DATA) + "1";
        assertThatThrownBy(() -> read("{\"inputs\":[{\"name\":\"A\",\"shape\":[" + ones + "],\"data\":[]}]}"))
                .isInstanceOf(InferenceException.InvalidInput.class)
                .hasMessageContaining("more than " + JsonBody.MAX_TOKENS_OUTSIDE_DATA + " JSON values outside its inputs' data");
        assertThatThrownBy(() -> read("{\"junk\":[" + ones + "],\"inputs\":[]}"))
                .isInstanceOf(InferenceException.InvalidInput.class).hasMessageContaining("outside its inputs' data");
        String many = "{\"name\":\"a\"},".repeat(JsonBody.MAX_TOKENS_OUTSIDE_DATA / 2);
        assertThatThrownBy(() -> read("{\"inputs\":[" + many + "{\"name\":\"a\"}]}"))
                .isInstanceOf(InferenceException.InvalidInput.class).hasMessageContaining("outside its inputs' data");
        // data itself is not counted: a million elements in one input are fine
        String data = "0,".repeat(1_000_000) + "0";
        assertThat(text(read("{\"inputs\":[{\"name\":\"A\",\"data\":[" + data + "]}]}").inputs().get(0).data()))
                .hasSize(data.length() + 2);
    }

    @Test
    void aByteOrderMarkDoesNotShiftTheRanges() {
        byte[] json = "{\"inputs\":[{\"name\":\"A\",\"data\":[1,2]}]}".getBytes(StandardCharsets.UTF_8);
        byte[] body = new byte[json.length + 3];
        body[0] = (byte) 0xEF;
        body[1] = (byte) 0xBB;
        body[2] = (byte) 0xBF;
        System.arraycopy(json, 0, body, 3, json.length);
        JsonBody.Request r = JsonBody.read(JSON, body, body.length);
        assertThat(text(r.inputs().get(0).data())).isEqualTo("[1,2]");
    }

    /** {@code before}, the bytes, then {@code after}, as one body. */
    private static byte[] withBytes(String before, int[] bytes, String after) {
        byte[] head = before.getBytes(StandardCharsets.UTF_8);
        byte[] tail = after.getBytes(StandardCharsets.UTF_8);
        byte[] body = new byte[head.length + bytes.length + tail.length];
        System.arraycopy(head, 0, body, 0, head.length);
        for (int i = 0; i < bytes.length; i++) {
            body[head.length + i] = (byte) bytes[i];
        }
        System.arraycopy(tail, 0, body, head.length + bytes.length, tail.length);
        return body;
    }

    @Test
    void bytesThatAreNoUtf8CharacterAreRefusedWhereTheyStandNotDecodedAsJacksonWould() {
        // Jackson read C1 A1 as "a", E0 80 AF as "/", and F5 80 80 80 as two lone surrogates
        String before = "{\"id\":\"x\",\"inputs\":[{\"name\":\"A\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\"";
        int offset = before.getBytes(StandardCharsets.UTF_8).length;
        int[][] malformed = {
            {0xC1, 0xA1}, // an overlong "a"
            {0xE0, 0x80, 0xAF}, // an overlong "/"
            {0xF0, 0x80, 0x80, 0xAF}, // the same in four bytes
            {0xED, 0xA0, 0x80}, // a surrogate (CESU-8)
            {0xF4, 0x90, 0x80, 0x80}, // past U+10FFFF
            {0xF5, 0x80, 0x80, 0x80}, // a lead byte no character has
            {0x80}, // a continuation byte alone
            {0xC3, 0x28}, // a lead byte without its continuation
        };
        for (int[] bytes : malformed) {
            byte[] body = withBytes(before, bytes, "\"]}]}");
            assertThatThrownBy(() -> JsonBody.read(JSON, body, body.length))
                    .isInstanceOf(InferenceException.InvalidInput.class)
                    .hasMessageMatching("request body is not UTF-8: bytes? " + String.format("0x%02X", bytes[0])
                            + "( 0x..)* at offset " + offset + " (is|are) no UTF-8 character .*");
        }
        byte[] cut = withBytes(before, new int[] {0xE2, 0x82}, ""); // a body that ends inside a character
        assertThatThrownBy(() -> JsonBody.read(JSON, cut, cut.length))
                .hasMessageStartingWith("request body is not UTF-8: bytes 0xE2 0x82 at offset " + offset + " are no UTF-8"
                        + " character");
        byte[] overlong = withBytes(before, new int[] {0xC1, 0xA1}, "\"]}]}"); // C1 begins no character: it alone
        assertThatThrownBy(() -> JsonBody.read(JSON, overlong, overlong.length))
                .hasMessageStartingWith("request body is not UTF-8: byte 0xC1 at offset " + offset + " is no UTF-8 character");
    }

    @Test
    void utf8CharactersOfEveryLengthPassAndTheCheckStopsAtTheGivenLength() {
        // é, € and U+1D11E (four bytes), past a run of ASCII longer than the eight bytes checked at once
        String json = "{\"id\":\"" + "a".repeat(37) + "\u00e9\u20ac\ud834\udd1e\",\"inputs\":[{\"name\":\"A\",\"data\":[1]}]}";
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        JsonBody.Request r = JsonBody.read(JSON, body, body.length);
        assertThat(r.root().get("id").textValue()).endsWith("a\u00e9\u20ac\ud834\udd1e");
        assertThat(JsonBody.malformedUtf8(body, body.length)).isNull();
        byte[] binary = withBytes("{}", new int[] {0xFF, 0xC1}, ""); // the binary extension's tensors after the JSON
        assertThat(JsonBody.malformedUtf8(binary, 2)).isNull();
        assertThat(JsonBody.malformedUtf8(binary, 3)).isEqualTo(new JsonBody.Malformed(2, 1));
    }

    @Test
    void aTruncatedBodySaysWhereItsObjectOpenedWithoutJacksonsSourceNote() {
        assertThatThrownBy(() -> read("{\"inputs\":[{\"name\":\"A\""))
                .hasMessageContaining("start marker at line 1, column 12)")
                .hasMessageNotContaining("Source")
                .hasMessageNotContaining("REDACTED");
    }

    @Test
    void aBodyInUtf16IsRefusedAsAClientMistake() {
        byte[] body = "{\"inputs\":[{\"name\":\"A\",\"data\":[1,2]}]}".getBytes(StandardCharsets.UTF_16LE);
        assertThatThrownBy(() -> JsonBody.read(JSON, body, body.length)).isInstanceOf(InferenceException.InvalidInput.class)
                .hasMessageContaining("must be JSON in UTF-8");
    }

    @Test
    void aClaimedShapeIsNotAllocatedBeforeItsElementsCome() {
        // a megabyte of whitespace and one element against a shape of 2^27 FP64 (1 GiB): counted, not allocated
        String json = "{\"inputs\":[{\"data\":[" + " ".repeat(1 << 20) + "1]}]}";
        JsonBody.Request r = read(json);
        assertThatThrownBy(() -> JsonTensors.decode(JSON, "A", Datatype.FP64, new long[] {1L << 27}, r.inputs().get(0).data()))
                .hasMessageContaining("has 1 elements in data, but shape [134217728] needs 134217728");
        // and a buffer that grows with the elements still holds them all, in order
        StringBuilder many = new StringBuilder("{\"inputs\":[{\"data\":[");
        for (int i = 0; i < 5000; i++) {
            many.append(i == 0 ? "" : ",").append(i);
        }
        JsonBody.Request big = read(many.append("]}]}").toString());
        ByteBuffer ints = JsonTensors.decode(JSON, "B", Datatype.INT64, new long[] {5000}, big.inputs().get(0).data())
                .order(ByteOrder.LITTLE_ENDIAN);
        assertThat(ints.remaining()).isEqualTo(5000 * 8);
        assertThat(ints.getLong(4999 * 8)).isEqualTo(4999);
        assertThat(ints.getLong(1024 * 8)).isEqualTo(1024);
    }

    @Test
    void anythingButOneObjectIsRefused() {
        assertThatThrownBy(() -> read("{\"inputs\":[]} {}")).isInstanceOf(InferenceException.InvalidInput.class)
                .hasMessageContaining("more after its JSON object");
        assertThatThrownBy(() -> read("[1]")).hasMessageContaining("must be a JSON object");
        assertThatThrownBy(() -> read("{\"inputs\":[1]}")).hasMessageContaining("every element of 'inputs' must be an object");
        assertThatThrownBy(() -> read("{\"inputs\":[{\"data\":[1,}]}")).hasMessageContaining("malformed JSON");
        assertThat(read("{\"inputs\":5}").inputs()).isNull();
        assertThat(read("{\"inputs\":[{\"name\":\"A\"}],\"inputs\":5}").inputs()).isNull(); // the last one wins
    }

    @Test
    void dataIsDecodedFlatOrNestedWithExactCounts() {
        JsonBody.Request r = read("{\"inputs\":[{\"data\":[[1,-2],[3,4]]},{\"data\":[\"ab\",\"\"]},{\"data\":[1,2,3]},"
                + "{\"data\":[[1],{\"x\":1}]},{\"data\":null},{\"data\":[\"NaN\",1.5]}]}");
        ByteBuffer ints = JsonTensors.decode(JSON, "A", Datatype.INT32, new long[] {2, 2}, r.inputs().get(0).data());
        assertThat(ints.order(ByteOrder.LITTLE_ENDIAN).getInt(4)).isEqualTo(-2);
        assertThat(ints.remaining()).isEqualTo(16);
        ByteBuffer strings = JsonTensors.decode(JSON, "B", Datatype.BYTES, new long[] {2}, r.inputs().get(1).data());
        assertThat(strings.remaining()).isEqualTo(4 + 2 + 4);
        assertThat(strings.order(ByteOrder.LITTLE_ENDIAN).getInt(0)).isEqualTo(2);
        // a shape that needs far more than the data holds is counted, never allocated
        assertThatThrownBy(() -> JsonTensors.decode(JSON, "C", Datatype.FP64, new long[] {1, 1L << 40},
                r.inputs().get(2).data())).hasMessageContaining("has 3 elements in data, but shape [1, 1099511627776] needs 1099511627776");
        assertThatThrownBy(() -> JsonTensors.decode(JSON, "C", Datatype.INT8, new long[] {2}, r.inputs().get(2).data()))
                .hasMessageContaining("has 3 elements in data, but shape [2] needs 2");
        assertThatThrownBy(() -> JsonTensors.decode(JSON, "D", Datatype.INT8, new long[] {2}, r.inputs().get(3).data()))
                .hasMessageContaining("has an object inside data");
        assertThatThrownBy(() -> JsonTensors.decode(JSON, "E", Datatype.INT8, new long[] {1}, r.inputs().get(4).data()))
                .hasMessageContaining("has no data");
        ByteBuffer floats = JsonTensors.decode(JSON, "F", Datatype.FP32, new long[] {2}, r.inputs().get(5).data());
        assertThat(Float.isNaN(floats.order(ByteOrder.LITTLE_ENDIAN).getFloat(0))).isTrue();
        assertThat(floats.getFloat(4)).isEqualTo(1.5f);
    }

    @Test
    void nestedDataMustBeRectangularWhateverItsCount() {
        assertThat(decodeInts("[[[1],[2]],[[3],[4]]]", 2, 2)).containsExactly(1, 2, 3, 4);
        assertThat(decodeInts("[[1,2,3,4]]", 4)).containsExactly(1, 2, 3, 4); // rectangular, then read in row-major order
        assertThat(decodeInts("[[],[]]", 2, 0)).isEmpty();
        assertThat(decodeInts("5", 1)).containsExactly(5);
        assertRagged("[[1,2],[3]]", "data[1] has 1 element, but data[0] has 2 elements");
        assertRagged("[[1],[2,3]]", "data[1] has 2 elements, but data[0] has 1 element");
        assertRagged("[[1,2],3]", "data mixes arrays and values");
        assertRagged("[1,[2,3]]", "data mixes arrays and values");
        assertRagged("[[[1,2],[3,4]],[[5,6],[7]]]", "data[1][1] has 1 element, but data[0][0] has 2 elements");
        assertRagged("[[[1]],[2]]", "data[1] holds a value, but data[0] holds arrays");
        assertRagged("[[],[[1]]]", "data[1] has 1 element, but data[0] has 0 elements");
        assertRagged("[[],[1],[2]]", "data[1] has 1 element, but data[0] has 0 elements");
        // deeper than the first guess at the nesting, still checked
        assertRagged("[[[[[[[[[[1]]]]]]]]],[[[[[[[[[1,2]]]]]]]]]]", "data[1][0][0][0][0][0][0][0][0] has 2 elements, but "
                + "data[0][0][0][0][0][0][0][0][0] has 1 element");
    }

    private static int[] decodeInts(String data, long... shape) {
        JsonBody.Request r = read("{\"inputs\":[{\"data\":" + data + "}]}");
        ByteBuffer b = JsonTensors.decode(JSON, "A", Datatype.INT32, shape, r.inputs().get(0).data());
        int[] values = new int[b.remaining() / 4];
        b.order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(values);
        return values;
    }

    private static void assertRagged(String data, String where) {
        JsonBody.Request r = read("{\"inputs\":[{\"data\":" + data + "}]}");
        assertThatThrownBy(() -> JsonTensors.decode(JSON, "A", Datatype.INT32, new long[] {3}, r.inputs().get(0).data()))
                .isInstanceOf(InferenceException.InvalidInput.class)
                .hasMessage("input 'A' has ragged data: " + where);
    }

    @Test
    void elementsOutOfRangeNameTheirIndexAndValue() {
        JsonBody.Request r = read("{\"inputs\":[{\"data\":[1,2,3,300]},{\"data\":[1,1.0]},{\"data\":[true,\"x\"]},"
                + "{\"data\":[18446744073709551615,-1]}]}");
        assertThatThrownBy(() -> JsonTensors.decode(JSON, "A", Datatype.INT8, new long[] {4}, r.inputs().get(0).data()))
                .hasMessageContaining("input 'A' element 3 is 300, expected an integer in [-128, 127]");
        assertThatThrownBy(() -> JsonTensors.decode(JSON, "B", Datatype.INT64, new long[] {2}, r.inputs().get(1).data()))
                .hasMessageContaining("element 1 is 1.0, expected an integer");
        assertThatThrownBy(() -> JsonTensors.decode(JSON, "C", Datatype.BOOL, new long[] {2}, r.inputs().get(2).data()))
                .hasMessageContaining("element 1 is \"x\", expected true or false");
        assertThatThrownBy(() -> JsonTensors.decode(JSON, "D", Datatype.UINT64, new long[] {2}, r.inputs().get(3).data()))
                .hasMessageContaining("element 1 is -1, expected an integer in [0, 18446744073709551615]");
        assertThatThrownBy(() -> JsonTensors.decode(JSON, "D", Datatype.INT64, new long[] {2}, r.inputs().get(3).data()))
                .hasMessageContaining("element 0 is 18446744073709551615");
    }

    @Test
    void aLongValueIsQuotedOnlyInPart() {
        JsonBody.Request r = read("{\"inputs\":[{\"data\":[1,\"" + "y".repeat(100_000) + "\"]}]}");
        assertThatThrownBy(() -> JsonTensors.decode(JSON, "A", Datatype.FP32, new long[] {2}, r.inputs().get(0).data()))
                .hasMessageContaining("element 1 is \"" + "y".repeat(io.sluice.inference.RequestValidation.MAX_SHOWN) + "\u2026 (100000 characters)\"")
                .satisfies(e -> assertThat(e.getMessage()).hasSizeLessThan(200));
    }
}
