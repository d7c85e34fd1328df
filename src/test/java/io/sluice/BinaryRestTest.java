package io.sluice;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.endsWith;
import static org.hamcrest.Matchers.equalTo;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The REST binary tensor extension: framing, mixing with JSON, raw requests, and framing errors. */
@QuarkusTest
@QuarkusTestResource(TinyRepositoryResource.class)
class BinaryRestTest {

    @BeforeEach
    void ready() {
        Await.serverReady();
    }

    @Test
    void binaryInBinaryOut() {
        var response = BinaryRest.post("add", List.of(
                new BinaryRest.Input("A", "FP32", new long[] {1, 4}, floats(1, 2, 3, 4)),
                new BinaryRest.Input("B", "FP32", new long[] {1, 4}, floats(1, 1, 1, 1))));
        response.then().statusCode(200).contentType("application/octet-stream");
        List<BinaryRest.Output> out = BinaryRest.outputs(response);
        assertThat(out).extracting(BinaryRest.Output::name).containsExactly("SUM", "DIFF");
        assertThat(out.get(0).data()).isEqualTo(floats(2, 3, 4, 5));
        assertThat(out.get(1).data()).isEqualTo(floats(0, 1, 2, 3));
    }

    @Test
    void jsonAndBinaryInputsMixAndOutputsChooseTheirForm() {
        byte[] header = ("{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]},"
                + "{\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4],\"parameters\":{\"binary_data_size\":16}}],"
                + "\"outputs\":[{\"name\":\"SUM\",\"parameters\":{\"binary_data\":true}},{\"name\":\"DIFF\"}]}")
                .getBytes(StandardCharsets.UTF_8);
        var response = given().header("Inference-Header-Content-Length", header.length)
                .body(concat(header, floats(1, 1, 1, 1))).post("/v2/models/add/infer");
        response.then().statusCode(200);
        int length = Integer.parseInt(response.getHeader("Inference-Header-Content-Length"));
        byte[] body = response.asByteArray();
        String json = new String(body, 0, length, StandardCharsets.UTF_8);
        assertThat(json).contains("\"name\":\"DIFF\"").contains("\"data\":[0.0,1.0,2.0,3.0]");
        assertThat(java.util.Arrays.copyOfRange(body, length, body.length)).isEqualTo(floats(2, 3, 4, 5));
    }

    @Test
    void aNullDataBesideBinaryDataSizeIsNoData() {
        // KServe's InferRequest.to_rest writes "data": None beside binary_data_size when the raw bytes are falsy
        byte[] header = ("{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]},"
                + "{\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":null,\"parameters\":{\"binary_data_size\":16}}]}")
                .getBytes(StandardCharsets.UTF_8);
        var response = given().header("Inference-Header-Content-Length", header.length)
                .body(concat(header, floats(1, 1, 1, 1))).post("/v2/models/add/infer");
        response.then().statusCode(200);
        assertThat(response.asString()).contains("\"data\":[2.0,3.0,4.0,5.0]");
        // without binary_data_size, null data is no data: named as missing
        infer("add", "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]},"
                + "{\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":null}]}")
                .then().statusCode(400).body("error", containsString("'B'"));
    }

    @Test
    void binaryBytesWithoutTheHeaderAre400() {
        // bytes to find need the header that says where the JSON ends (an empty input needs none: AnyShapeModelTest)
        infer("add", "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]},"
                + "{\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4],\"parameters\":{\"binary_data_size\":16}}]}")
                .then().statusCode(400).body("error", containsString("input 'B' has binary_data_size, but the request"
                        + " has no Inference-Header-Content-Length header"));
    }

    private static io.restassured.response.Response infer(String model, String json) {
        return given().contentType("application/json").body(json).post("/v2/models/" + model + "/infer");
    }

    @Test
    void bytesElementsCarryLengthPrefixes() {
        byte[] data = strings("a", "", "héllo", "z日本\uFFFD"); // characters of 2 and 3 bytes too
        var response = BinaryRest.post("identity_bytes", List.of(new BinaryRest.Input("INPUT0", "BYTES", new long[] {1, 4}, data)));
        assertThat(BinaryRest.outputs(response).get(0).data()).isEqualTo(data);
    }

    @Test
    void bytesElementsTheRuntimeWouldAlterAre400() {
        // ONNX Runtime's Java API passes strings through JNI's modified UTF-8: a model would see other bytes
        // (a string Equal to the same text in the model is false), though an identity model would hide it
        BinaryRest.post("identity_bytes", List.of(new BinaryRest.Input("INPUT0", "BYTES", new long[] {1, 2},
                strings("a", "z\u0000y")))).then().statusCode(400)
                .body("error", containsString("input 'INPUT0': BYTES element 1 holds U+0000 (NUL), which ONNX Runtime's Java API"));
        BinaryRest.post("identity_bytes", List.of(new BinaryRest.Input("INPUT0", "BYTES", new long[] {1, 1},
                strings("smile \uD83D\uDE00")))).then().statusCode(400)
                .body("error", containsString("BYTES element 0 holds U+1F600, a character outside the Basic Multilingual Plane"));
    }

    @Test
    void bytesElementsThatAreNotUtf8Are400RatherThanChanged() {
        // ONNX Runtime's Java API holds string tensors as Java strings: other bytes could not come back as sent
        byte[] notUtf8 = ByteBuffer.allocate(4 + 1 + 4 + 3).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(1).put((byte) 'a').putInt(3).put((byte) 0xff).put((byte) 0xfe).put((byte) 0).array();
        String header = "{\"inputs\":[{\"name\":\"INPUT0\",\"datatype\":\"BYTES\",\"shape\":[1,2],\"parameters\":{\"binary_data_size\":12}}]}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        given().header("Inference-Header-Content-Length", h.length).body(concat(h, notUtf8)).post("/v2/models/identity_bytes/infer")
                .then().statusCode(400).body("error", containsString("input 'INPUT0': BYTES element 1 is not UTF-8"));
    }

    @Test
    void aBoolByteOtherThanZeroOrOneIs400() {
        // ONNX Runtime reads the bytes as C++ bool, for which 2 is undefined; JSON's true and false are 1 and 0
        String header = "{\"inputs\":[{\"name\":\"INPUT0\",\"datatype\":\"BOOL\",\"shape\":[1,4],\"parameters\":{\"binary_data_size\":4}}]}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        given().header("Inference-Header-Content-Length", h.length).body(concat(h, new byte[] {1, 0, 2, 1}))
                .post("/v2/models/identity_bool/infer")
                .then().statusCode(400).body("error", containsString("input 'INPUT0': BOOL element 2 is the byte 2; a BOOL is 0 (false) or 1 (true)"));
        var served = given().header("Inference-Header-Content-Length", h.length).body(concat(h, new byte[] {1, 0, 0, 1}))
                .post("/v2/models/identity_bool/infer");
        served.then().statusCode(200);
        assertThat(new String(served.asByteArray(), StandardCharsets.UTF_8)).contains("\"data\":[true,false,false,true]");
    }

    @Test
    void aRawSingleInputRequestIsAccepted() {
        var response = given().header("Inference-Header-Content-Length", 0).body(floats(1, 1, 1, 0, 0, 1))
                .post("/v2/models/matmul/infer");
        response.then().statusCode(200);
        List<BinaryRest.Output> out = BinaryRest.outputs(response);
        assertThat(out.get(0).shape()).containsExactly(2, 2);
        assertThat(out.get(0).data()).isEqualTo(floats(9, 12, 5, 6));
        given().header("Inference-Header-Content-Length", 0).body(floats(1, 1)).post("/v2/models/matmul/infer")
                .then().statusCode(400).body("error", containsString("does not fit input 'X'"));
        given().header("Inference-Header-Content-Length", 0).body(floats(1, 1)).post("/v2/models/add/infer")
                .then().statusCode(400).body("error", containsString("one input"));
    }

    @Test
    void framingErrorsAre400NamingTheInput() {
        String twoInputs = "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],\"parameters\":{\"binary_data_size\":%s}},"
                + "{\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4],\"parameters\":{\"binary_data_size\":16}}]}";
        assertFraming(String.format(twoInputs, 12), floats(1, 2, 3, 4, 5, 6, 7), "input 'A' with shape [1, 4] and datatype FP32 needs 16 bytes, got 12");
        assertFraming(String.format(twoInputs, 16), floats(1, 2, 3, 4, 5), "input 'B' binary_data_size 16 exceeds the 4 bytes");
        assertFraming(String.format(twoInputs, -1), floats(1, 2, 3, 4, 5, 6, 7, 8), "input 'A' binary_data_size must be a non-negative integer, was -1");
        assertFraming(String.format(twoInputs, "99999999999"), floats(1, 2, 3, 4, 5, 6, 7, 8), "input 'A' binary_data_size 99999999999");
        assertFraming(String.format(twoInputs, 16), floats(1, 2, 3, 4, 5, 6, 7, 8, 9), "4 bytes after the last binary input");
        given().header("Inference-Header-Content-Length", 5000).body(floats(1)).post("/v2/models/add/infer")
                .then().statusCode(400).body("error", containsString("outside the body"));
        given().header("Inference-Header-Content-Length", "x").body(floats(1)).post("/v2/models/add/infer")
                .then().statusCode(400).body("error", containsString("Inference-Header-Content-Length"));
        // past what an array holds: named as sent (it was cut to 2^31 - 1 in the message before)
        given().header("Inference-Header-Content-Length", "9223372036854775807").body(floats(1)).post("/v2/models/add/infer")
                .then().statusCode(400).body("error", equalTo("header Inference-Header-Content-Length 9223372036854775807"
                        + " is longer than any request body can be"));
        byte[] bad = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(100).putInt(0).array();
        String bytesHeader = "{\"inputs\":[{\"name\":\"INPUT0\",\"datatype\":\"BYTES\",\"shape\":[1,4],\"parameters\":{\"binary_data_size\":8}}]}";
        byte[] h = bytesHeader.getBytes(StandardCharsets.UTF_8);
        given().header("Inference-Header-Content-Length", h.length).body(concat(h, bad)).post("/v2/models/identity_bytes/infer")
                .then().statusCode(400).body("error", containsString("input 'INPUT0': BYTES element 0 claims 100 bytes"));
    }

    @Test
    void aHeaderLengthThatMissesTheJsonsEndSaysWhereTheJsonWasTakenToEnd() {
        byte[] header = ("{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],\"parameters\":"
                + "{\"binary_data_size\":16}},{\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}]}")
                .getBytes(StandardCharsets.UTF_8);
        byte[] body = concat(header, floats(1, 2, 3, 4));
        given().header("Inference-Header-Content-Length", header.length - 1).body(body)
                .post("/v2/models/add/infer").then().statusCode(400)
                .body("error", containsString("malformed JSON"))
                .body("error", endsWith("(in the JSON header: the body's first " + (header.length - 1)
                        + " bytes, as Inference-Header-Content-Length says)"));
        // the whole body's length: the tensors' bytes read as JSON
        given().header("Inference-Header-Content-Length", body.length).body(body)
                .post("/v2/models/add/infer").then().statusCode(400)
                .body("error", endsWith("(in the JSON header: the body's first " + body.length
                        + " bytes, as Inference-Header-Content-Length says)"));
    }

    private static void assertFraming(String json, byte[] tensors, String message) {
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        given().header("Inference-Header-Content-Length", header.length).body(concat(header, tensors))
                .post("/v2/models/add/infer").then().statusCode(400).body("error", containsString(message));
    }

    @Test
    void anInputsDatatypeMismatchIsNamedBeforeItsDataIsReadAsTheWrongType() {
        // four floats framed as BYTES: read as BYTES first, they were "element 0 claims 1065353216 bytes, 12 remain"
        String header = "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"BYTES\",\"shape\":[1,4],\"parameters\":{\"binary_data_size\":16}},"
                + "{\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}]}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        given().header("Inference-Header-Content-Length", h.length).body(concat(h, floats(1, 2, 3, 4)))
                .post("/v2/models/add/infer").then().statusCode(400)
                .body("error", equalTo("input 'A' has datatype BYTES, model expects FP32"));
        // and in JSON: numbers for a BYTES input were "element 0 is 1, expected a string"
        given().contentType("application/json").body("{\"inputs\":[{\"name\":\"A\",\"datatype\":\"BYTES\",\"shape\":[1,4],"
                + "\"data\":[1,2,3,4]},{\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}]}")
                .post("/v2/models/add/infer").then().statusCode(400)
                .body("error", equalTo("input 'A' has datatype BYTES, model expects FP32"));
        // data that is wrong for the datatype the model does expect keeps its own message
        given().contentType("application/json").body("{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],"
                + "\"data\":[1,2,3,\"x\"]},{\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}]}")
                .post("/v2/models/add/infer").then().statusCode(400)
                .body("error", containsString("element 3"));
    }

    static byte[] floats(float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return b.array();
    }

    static byte[] strings(String... values) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (String v : values) {
            byte[] b = v.getBytes(StandardCharsets.UTF_8);
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length).array());
            out.writeBytes(b);
        }
        return out.toByteArray();
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
