package io.sluice;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.hasItems;
import static org.hamcrest.Matchers.startsWith;
import static org.hamcrest.Matchers.nullValue;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every REST endpoint of the Open Inference Protocol and every error row, on tiny models. */
@QuarkusTest
@QuarkusTestResource(TinyRepositoryResource.class)
class RestProtocolTest {

    @BeforeEach
    void ready() {
        Await.serverReady();
    }

    @Test
    void serverMetadataListsTheBinaryExtension() {
        given().get("/v2").then().statusCode(200)
                .body("name", equalTo("sluice"))
                .body("extensions", hasItems("binary_tensor_data", "schedule_policy"));
    }

    @Test
    void modelConfigurationAsTritonWritesIt() {
        int instances = Math.min(2, Runtime.getRuntime().availableProcessors()); // batching.instances' default
        given().get("/v2").then().body("extensions", hasItem("model_configuration"));
        given().get("/v2/models/add/config").then().statusCode(200)
                .body("name", equalTo("add"))
                .body("platform", equalTo("onnxruntime_onnx"))
                .body("backend", equalTo("onnxruntime"))
                .body("max_batch_size", equalTo(8)) // batching.max-batch-size's default; dims leave the batch out
                .body("input.name", equalTo(List.of("A", "B")))
                .body("input[0].data_type", equalTo("TYPE_FP32"))
                .body("input[0].dims", equalTo(List.of(4)))
                .body("output.name", equalTo(List.of("SUM", "DIFF")))
                .body("output[1].dims", equalTo(List.of(4)))
                .body("dynamic_batching.max_queue_delay_microseconds", equalTo(0))
                .body("dynamic_batching.priority_levels", equalTo(0))
                .body("dynamic_batching.default_queue_policy.max_queue_size", equalTo(instances * 8))
                .body("instance_group[0].kind", equalTo("KIND_CPU"))
                .body("instance_group[0].count", equalTo(instances))
                .body("default_model_filename", equalTo("model.onnx"));
        given().get("/v2/models/all-minilm-l6-v2/versions/1/config").then().statusCode(200)
                .body("max_batch_size", equalTo(4))
                .body("input[0].data_type", equalTo("TYPE_INT64"))
                .body("input[0].dims", equalTo(List.of(-1)))
                .body("output[0].dims", equalTo(List.of(-1, 384)));
        given().get("/v2/models/identity_bytes/config").then().statusCode(200)
                .body("input[0].data_type", equalTo("TYPE_STRING"));
        given().get("/v2/models/identity_fp64/config").then().statusCode(200)
                .body("response_cache.enable", equalTo(true));
        given().get("/v2/models/nope/config").then().statusCode(404).body("error", containsString("nope"));
        given().get("/v2/models/add/versions/9/config").then().statusCode(404);
    }

    @Test
    void statisticsCountWhatTheModelDidAsTritonReportsThem() {
        JsonPath before = given().get("/v2/models/matmul/versions/1/stats").then().statusCode(200).extract().jsonPath();
        Map<String, Object> twoRows = Map.of("inputs", List.of(
                tensor("X", "FP32", List.of(2, 3), List.of(List.of(1, 1, 1), List.of(1, 0, 0)))));
        for (int i = 0; i < 3; i++) {
            infer("matmul", twoRows).then().statusCode(200);
        }
        infer("matmul", Map.of("inputs", List.of(tensor("X", "FP32", List.of(1, 2), List.of(1, 1))))).then().statusCode(400);
        JsonPath after = given().get("/v2/models/matmul/versions/1/stats").then().statusCode(200).extract().jsonPath();
        assertThat(after.getString("model_stats[0].name")).isEqualTo("matmul");
        assertThat(after.getString("model_stats[0].version")).isEqualTo("1");
        assertThat(delta(before, after, "inference_stats.success.count")).isEqualTo(3);
        assertThat(delta(before, after, "inference_stats.success.ns")).isPositive();
        assertThat(delta(before, after, "inference_stats.fail.count")).isEqualTo(1);
        assertThat(delta(before, after, "inference_stats.queue.count")).isEqualTo(3);
        assertThat(delta(before, after, "inference_stats.compute_infer.count")).isEqualTo(3);
        assertThat(delta(before, after, "inference_stats.compute_infer.ns")).isPositive();
        assertThat(delta(before, after, "inference_count")).isEqualTo(6); // rows, as Triton counts them
        assertThat(delta(before, after, "execution_count")).isBetween(1L, 3L);
        assertThat(after.getLong("model_stats[0].last_inference")).isPositive();
        assertThat(after.getList("model_stats[0].batch_stats.batch_size", Integer.class)).contains(2);
        // every READY version of every model; a FAILED one has none to report
        JsonPath all = given().get("/v2/models/stats").then().statusCode(200).extract().jsonPath();
        assertThat(all.getList("model_stats.findAll { it.name == 'add' }.version", String.class)).containsExactly("1", "2");
        assertThat(all.getList("model_stats.name", String.class)).contains("matmul").doesNotContain("corrupt");
        given().get("/v2/models/add/stats").then().statusCode(200).body("model_stats.version", equalTo(List.of("1", "2")));
        given().get("/v2/models/nope/stats").then().statusCode(404);
        given().get("/v2").then().body("extensions", hasItem("statistics"));
    }

    private static long delta(JsonPath before, JsonPath after, String field) {
        return after.getLong("model_stats[0]." + field) - before.getLong("model_stats[0]." + field);
    }

    @Test
    void repositoryIndexListsEveryVersionWithTritonsStates() throws Exception {
        Await.modelSettled("corrupt"); // optional: readiness does not wait for it
        JsonPath all = given().post("/v2/repository/index").then().statusCode(200).extract().jsonPath();
        assertThat(all.getList("findAll { it.name == 'add' }.version", String.class)).containsExactly("1", "2");
        assertThat(all.getString("find { it.name == 'add' }.state")).isEqualTo("READY");
        assertThat(all.getString("find { it.name == 'corrupt' }.state")).isEqualTo("UNAVAILABLE");
        assertThat(all.getString("find { it.name == 'corrupt' }.reason")).contains("Protobuf parsing failed");
        assertThat(all.getList("name", String.class)).isSorted();
        JsonPath ready = given().contentType(ContentType.JSON).body("{\"ready\": true}").post("/v2/repository/index")
                .then().statusCode(200).extract().jsonPath();
        assertThat(ready.getList("state", String.class)).containsOnly("READY");
        assertThat(ready.getList("name", String.class)).contains("add").doesNotContain("corrupt");
        given().contentType(ContentType.JSON).body("{\"ready\": \"yes\"}").post("/v2/repository/index")
                .then().statusCode(400).body("error", containsString("'ready' must be a boolean"));
        given().contentType(ContentType.JSON).body("[1").post("/v2/repository/index")
                .then().statusCode(400).body("error", containsString("not JSON"));
        given().contentType(ContentType.JSON).body("{} {}").post("/v2/repository/index")
                .then().statusCode(400).body("error", containsString("not JSON"));
        given().contentType(ContentType.JSON).body("{\"ready\": false, \"ready\": true}").post("/v2/repository/index")
                .then().statusCode(400).body("error", containsString("Duplicate field 'ready'"));
        // read in its Content-Encoding, as an inference request is
        JsonPath gzipped = given().contentType(ContentType.JSON).header("Content-Encoding", "gzip")
                .body(gzip("{\"ready\": true}".getBytes())).post("/v2/repository/index")
                .then().statusCode(200).extract().jsonPath();
        assertThat(gzipped.getList("name", String.class)).doesNotContain("corrupt");
        given().contentType(ContentType.JSON).header("Content-Encoding", "br").body("{}").post("/v2/repository/index")
                .then().statusCode(415);
        given().post("/v2/repository/models/add/unload").then().statusCode(400)
                .body("error", containsString("does not unload models at run time"));
        given().post("/v2/repository/models/add/load").then().statusCode(400);
    }

    @Test
    void classificationAnswersTheTopClassesAsTritonDoes() {
        Map<String, Object> oneRow = Map.of("inputs", List.of(tensor("X", "FP32", List.of(1, 3), List.of(1, 1, 1))),
                "outputs", List.of(Map.of("name", "Y", "parameters", Map.of("classification", 1))));
        infer("matmul", oneRow).then().statusCode(200) // Y = [9, 12]
                .body("outputs[0].name", equalTo("Y"))
                .body("outputs[0].datatype", equalTo("BYTES"))
                .body("outputs[0].shape", equalTo(List.of(1, 1)))
                .body("outputs[0].data", equalTo(List.of("12.000000:1")));
        // each row on its own; a count past the classes gives them all
        Map<String, Object> twoRows = Map.of("inputs", List.of(
                tensor("X", "FP32", List.of(2, 3), List.of(List.of(1, 1, 1), List.of(1, 0, 0)))),
                "outputs", List.of(Map.of("name", "Y", "parameters", Map.of("classification", 5))));
        infer("matmul", twoRows).then().statusCode(200)
                .body("outputs[0].shape", equalTo(List.of(2, 2)))
                .body("outputs[0].data", equalTo(List.of("12.000000:1", "9.000000:0", "2.000000:1", "1.000000:0")));
        // the binary form, as tritonclient asks for it (binary_data true)
        Map<String, Object> binary = Map.of("inputs", List.of(tensor("X", "FP32", List.of(1, 3), List.of(1, 1, 1))),
                "outputs", List.of(Map.of("name", "Y", "parameters", Map.of("classification", 2, "binary_data", true))));
        byte[] answer = infer("matmul", binary).then().statusCode(200).extract().asByteArray();
        String text = new String(answer, java.nio.charset.StandardCharsets.UTF_8);
        assertThat(text).contains("\"datatype\":\"BYTES\"").contains("12.000000:1").contains("9.000000:0");
        // a BYTES output has no order
        infer("identity_bytes", Map.of("inputs", List.of(tensor("INPUT0", "BYTES", List.of(1, 4), List.of("a", "b", "c", "d"))),
                "outputs", List.of(Map.of("name", "OUTPUT0", "parameters", Map.of("classification", 1)))))
                .then().statusCode(400).body("error", containsString("classification needs a numeric output"));
    }

    @Test
    void bytesElementsPastTheServersLimitAre413() {
        // the tests' limit is 32 (TinyRepositoryResource): 8 rows of 4 fit, 9 do not
        infer("identity_bytes", Map.of("inputs", List.of(tensor("INPUT0", "BYTES", List.of(8, 4),
                java.util.Collections.nCopies(32, ""))))).then().statusCode(200)
                .body("outputs[0].data", equalTo(java.util.Collections.nCopies(32, "")));
        infer("identity_bytes", Map.of("inputs", List.of(tensor("INPUT0", "BYTES", List.of(9, 4),
                java.util.Collections.nCopies(36, ""))))).then().statusCode(413)
                .body("error", equalTo("request's inputs hold 36 BYTES elements, more than the server's limit of 32"
                        + " (sluice.limits.max-bytes-elements)"));
    }

    @Test
    void jsonThatIsNotUtf8IsRefusedNotReadAsOtherCharacters() {
        // an overlong "a" (C1 A1) and an overlong "/" (E0 80 AF): Jackson alone answered 200 with ["a","/","b","c"]
        byte[] head = "{\"inputs\":[{\"name\":\"INPUT0\",\"datatype\":\"BYTES\",\"shape\":[1,4],\"data\":[\""
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] tail = "\",\"b\",\"c\",\"d\"]}]}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        for (byte[] bytes : List.of(new byte[] {(byte) 0xC1, (byte) 0xA1}, new byte[] {(byte) 0xE0, (byte) 0x80, (byte) 0xAF})) {
            byte[] body = java.nio.ByteBuffer.allocate(head.length + bytes.length + tail.length).put(head).put(bytes).put(tail)
                    .array();
            given().contentType(ContentType.JSON).body(body).post("/v2/models/identity_bytes/infer").then().statusCode(400)
                    .body("error", startsWith("request body is not UTF-8: byte " + String.format("0x%02X", bytes[0] & 0xFF)
                            + " at offset " + head.length + " is no UTF-8 character"));
        }
    }

    @Test
    void aKeyTwiceInOneJsonObjectIsRefusedNotReadAsItsLastValue() {
        // a serializer that wrote "data" twice meant one of them: the last one won before (200, [5,6,7,8])
        String[] twice = {
            "{\"inputs\":[{\"name\":\"INPUT0\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[9,9,9,9],\"data\":[5,6,7,8]}]}",
            "{\"inputs\":[{\"name\":\"INPUT0\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[9,9,9,9]}],"
                    + "\"inputs\":[{\"name\":\"INPUT0\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[5,6,7,8]}]}",
            "{\"parameters\":{\"priority\":1,\"priority\":2},"
                    + "\"inputs\":[{\"name\":\"INPUT0\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[5,6,7,8]}]}",
        };
        for (String body : twice) {
            given().contentType(ContentType.JSON).body(body).post("/v2/models/identity_fp32/infer").then().statusCode(400)
                    .body("error", startsWith("malformed JSON: Duplicate field '"));
        }
    }

    @Test
    void liveAndReady() {
        given().get("/v2/health/live").then().statusCode(200);
        given().get("/v2/health/ready").then().statusCode(200);
        given().get("/q/health/started").then().statusCode(200);
    }

    /**
     * What KServe's REST client (kserve.InferenceRESTClient, v2) reads: the OIP's health bodies ({@code live}, {@code
     * ready}), and an error's {@code {"error": ...}} only when the Content-Type is exactly {@code application/json}.
     */
    @Test
    void healthAnswersCarryTheOipBodiesAndErrorsAreExactlyApplicationJson() {
        given().get("/v2/health/live").then().statusCode(200).header("Content-Type", "application/json")
                .body("live", equalTo(true));
        given().get("/v2/health/ready").then().statusCode(200).header("Content-Type", "application/json")
                .body("ready", equalTo(true));
        given().get("/v2/models/add/ready").then().statusCode(200).body("name", equalTo("add")).body("ready", equalTo(true));
        given().get("/v2/models/add/versions/1/ready").then().statusCode(200).body("ready", equalTo(true));
        given().get("/v2/models/corrupt/ready").then().statusCode(400).body("ready", equalTo(false));
        given().get("/v2/models/nope/ready").then().statusCode(404).header("Content-Type", "application/json")
                .body("error", containsString("nope"));
        given().get("/v2/nope").then().statusCode(404).header("Content-Type", "application/json");
        infer("add", Map.of("inputs", List.of())).then().statusCode(400).header("Content-Type", "application/json");
    }

    @Test
    void modelMetadataComesFromTheSession() {
        given().get("/v2/models/add").then().statusCode(200)
                .body("name", equalTo("add"))
                .body("versions", equalTo(List.of("1", "2")))
                .body("platform", equalTo("onnx_onnxv1"))
                .body("inputs.name", equalTo(List.of("A", "B")))
                .body("inputs[0].datatype", equalTo("FP32"))
                .body("inputs[0].shape", equalTo(List.of(-1, 4)))
                .body("outputs.name", equalTo(List.of("SUM", "DIFF")))
                .body("parameters.execution_provider", equalTo("cpu"));
        given().get("/v2/models/add/versions/1").then().statusCode(200).body("parameters.version", equalTo("1"));
        given().get("/v2/models/all-minilm-l6-v2").then().statusCode(200)
                .body("inputs.name", equalTo(List.of("input_ids", "attention_mask", "token_type_ids")))
                .body("outputs[0].shape", equalTo(List.of(-1, -1, 384)));
    }

    @Test
    void theAcceptHeaderIsNotReadAsTritonDoesNot() {
        given().accept("text/plain").get("/v2/health/ready").then().statusCode(200);
        given().accept("text/plain").get("/v2/models/add").then().statusCode(200)
                .contentType(containsString("application/json")).body("name", equalTo("add"));
        given().accept("text/plain").get("/v2").then().statusCode(200).body("name", equalTo("sluice"));
        // the binary answer's own type, asked for a JSON answer: the answer as it is, JSON
        given().accept("application/octet-stream").contentType("application/json")
                .body(Map.of("inputs", List.of(
                        Map.of("name", "A", "datatype", "FP32", "shape", List.of(1, 4), "data", List.of(1, 2, 3, 4)),
                        Map.of("name", "B", "datatype", "FP32", "shape", List.of(1, 4), "data", List.of(1, 1, 1, 1)))))
                .post("/v2/models/add/infer").then().statusCode(200)
                .contentType(containsString("application/json")).body("outputs[0].data[0]", equalTo(2.0f));
        given().accept("text/plain").get("/v2/models/nope").then().statusCode(404)
                .body("error", containsString("unknown model 'nope'"));
    }

    @Test
    void whatQuarkusRestAnswersItselfHasTheApisErrorBody() {
        given().get("/v2/nope").then().statusCode(404).contentType(containsString("application/json"))
                .body("error", equalTo("no such endpoint: GET /v2/nope"));
        given().get("/nope").then().statusCode(404).body("error", equalTo("no such endpoint: GET /nope"));
        // a path as long as the request line takes is cut as every REST message is, at 4,096 characters
        String path = "/" + "p".repeat(4_079); // the request line, "GET " + path + " HTTP/1.1", fits 4,096
        given().urlEncodingEnabled(false).get(path).then().statusCode(404)
                .body("error", equalTo(("no such endpoint: GET " + path).substring(0, 4_095) + "\u2026"));
        given().delete("/v2/models/add/infer").then().statusCode(405).contentType(containsString("application/json"))
                .body("error", equalTo("method not allowed: DELETE /v2/models/add/infer"));
    }

    @Test
    void aMethodThePathDoesNotTakeIsAnsweredWithTheOnesItDoes() {
        given().get("/v2/models/add/infer").then().statusCode(405).header("Allow", "OPTIONS, POST")
                .body("error", equalTo("method not allowed: GET /v2/models/add/infer"));
        given().put("/v2/models/add/versions/1/infer").then().statusCode(405).header("Allow", "OPTIONS, POST");
        given().post("/v2/models/add/config").then().statusCode(405).header("Allow", "GET, HEAD, OPTIONS");
        given().delete("/v2/health/ready").then().statusCode(405).header("Allow", "GET, HEAD, OPTIONS");
        given().post("/v2/models/stats").then().statusCode(405).header("Allow", "GET, HEAD, OPTIONS");
        given().get("/v2/repository/models/add/load").then().statusCode(405).header("Allow", "OPTIONS, POST");
        // OPTIONS names the path's own methods, not every method of the resource
        given().options("/v2/models/add/infer").then().statusCode(200).header("Allow", "OPTIONS, POST");
        given().options("/v2/models/add").then().statusCode(200).header("Allow", "GET, HEAD, OPTIONS");
        given().options("/v2").then().statusCode(200).header("Allow", "GET, HEAD, OPTIONS");
        given().head("/v2/models/add").then().statusCode(200);
        // the REST layer serves a path with a trailing slash as its route: so does Allow
        given().options("/v2/models/add/infer/").then().statusCode(200).header("Allow", "OPTIONS, POST");
        given().get("/v2/models/add/infer/").then().statusCode(405).header("Allow", "OPTIONS, POST");
    }

    @Test
    void optionsOnAPathNoEndpointHasIs404() {
        given().options("/v2/nope").then().statusCode(404).contentType(containsString("application/json"))
                .header("Allow", nullValue()).body("error", equalTo("no such endpoint: OPTIONS /v2/nope"));
        given().options("/v2/models/add/nope").then().statusCode(404)
                .body("error", equalTo("no such endpoint: OPTIONS /v2/models/add/nope"));
        given().options("/nope").then().statusCode(404).body("error", equalTo("no such endpoint: OPTIONS /nope"));
    }

    @Test
    void modelReadiness() {
        given().get("/v2/models/add/ready").then().statusCode(200);
        given().get("/v2/models/add/versions/1/ready").then().statusCode(200);
        given().get("/v2/models/corrupt/ready").then().statusCode(400);
        given().get("/v2/models/nope/ready").then().statusCode(404);
    }

    @Test
    void unknownModelsAndVersionsAre404() {
        given().get("/v2/models/nope").then().statusCode(404).body("error", containsString("unknown model 'nope'"));
        given().get("/v2/models/add/versions/7").then().statusCode(404).body("error", containsString("version '7'"));
        given().get("/v2/models/add/versions/x1").then().statusCode(404);
        given().get("/v2/models/..%2F..%2Fetc").then().statusCode(404);
        given().get("/v2/models/%2E%2E/versions/1").then().statusCode(404);
        infer("nope", Map.of("inputs", List.of())).then().statusCode(404).body("error", containsString("nope"));
    }

    @Test
    void everyVersionReportsItsOwnLoadAndWarmupTime() {
        Await.modelSettled("corrupt"); // optional: readiness does not wait for it
        String metrics = given().get("/q/metrics").asString();
        for (String version : List.of("1", "2")) { // add has two versions; tagged by model alone, one would hide the other
            assertThat(metrics).containsPattern("sluice_model_load_seconds\\{model=\"add\",version=\"" + version + "\"}");
            assertThat(metrics).containsPattern("sluice_model_warmup_seconds\\{model=\"add\",version=\"" + version + "\"}");
        }
        // a FAILED version reports what its failed load took (it reported 0), and no warmup
        java.util.regex.Matcher corrupt = java.util.regex.Pattern
                .compile("sluice_model_load_seconds\\{model=\"corrupt\",version=\"1\"} (\\S+)").matcher(metrics);
        assertThat(corrupt.find()).as("corrupt's load time").isTrue();
        assertThat(Double.parseDouble(corrupt.group(1))).isPositive();
        assertThat(metrics).contains("sluice_model_warmup_seconds{model=\"corrupt\",version=\"1\"} 0.0");
    }

    @Test
    void requestsForUnknownModelsShareOneMetricTag() {
        String name = "no-such-model-" + System.nanoTime();
        infer(name, Map.of("inputs", List.of())).then().statusCode(404);
        String metrics = given().get("/q/metrics").asString();
        // a client inventing names must not invent series: they all count under one tag no model can have
        assertThat(metrics).doesNotContain(name);
        assertThat(BatchingTest.metric(metrics,
                "sluice_requests_total\\{model=\"_unknown\",outcome=\"not_found\",protocol=\"rest\"}")).isPositive();
    }

    @Test
    void addComputesEveryOutputAndEchoesIdAndParameters() {
        JsonPath out = infer("add", Map.of(
                "id", "req-7",
                "parameters", Map.of("tag", "x"),
                "inputs", List.of(
                        tensor("A", "FP32", List.of(1, 4), List.of(1, 2, 3, 4)),
                        tensor("B", "FP32", List.of(1, 4), List.of(List.of(0.5, 0.5, 0.5, 0.5))))))
                .then().statusCode(200).extract().jsonPath();
        assertThat(out.getString("model_name")).isEqualTo("add");
        assertThat(out.getString("model_version")).isEqualTo("2");
        assertThat(out.getString("id")).isEqualTo("req-7");
        assertThat(out.getString("parameters.tag")).isEqualTo("x");
        assertThat(out.getList("outputs.name")).containsExactly("SUM", "DIFF");
        assertThat(out.getList("outputs[0].data", Float.class)).containsExactly(1.5f, 2.5f, 3.5f, 4.5f);
        assertThat(out.getList("outputs[1].data", Float.class)).containsExactly(0.5f, 1.5f, 2.5f, 3.5f);
        assertThat(out.getList("outputs[0].shape", Integer.class)).containsExactly(1, 4);
    }

    @Test
    void requestedOutputsAreHonoured() {
        JsonPath out = infer("add/versions/1", Map.of(
                "inputs", List.of(
                        tensor("A", "FP32", List.of(1, 4), List.of(1, 2, 3, 4)),
                        tensor("B", "FP32", List.of(1, 4), List.of(1, 1, 1, 1))),
                "outputs", List.of(Map.of("name", "DIFF"))))
                .then().statusCode(200).extract().jsonPath();
        assertThat(out.getString("model_version")).isEqualTo("1");
        assertThat(out.getList("outputs.name")).containsExactly("DIFF");
        assertThat(out.getList("outputs[0].data", Float.class)).containsExactly(0f, 1f, 2f, 3f);
    }

    @Test
    void matmulWithADynamicBatch() {
        JsonPath out = infer("matmul", Map.of("inputs", List.of(
                tensor("X", "FP32", List.of(2, 3), List.of(List.of(1, 1, 1), List.of(1, 0, 0))))))
                .then().statusCode(200).extract().jsonPath();
        assertThat(out.getList("outputs[0].shape", Integer.class)).containsExactly(2, 2);
        assertThat(out.getList("outputs[0].data", Float.class)).containsExactly(9f, 12f, 1f, 2f);
    }

    @ParameterizedTest
    @CsvSource(delimiter = ';', value = {
        "BOOL;[true,false,true,true]",
        "UINT8;[0,1,254,255]",
        "INT8;[-128,-1,0,127]",
        "INT16;[-32768,-1,0,32767]",
        "INT32;[-2147483648,-1,0,2147483647]",
        "INT64;[-9223372036854775808,-1,0,9223372036854775807]",
        "FP16;[0.5,-2.0,65504.0,0.0]",
        "FP32;[0.1,-2.5,3.4028235E38,1.4E-45]",
        "FP64;[0.1,-2.5,1.7976931348623157E308,4.9E-324]",
        "BYTES;[\"a\",\"\",\"héllo\",\"x y\"]",
    })
    void everyJsonDatatypeRoundTrips(String datatype, String data) {
        String body = "{\"inputs\":[{\"name\":\"INPUT0\",\"datatype\":\"" + datatype
                + "\",\"shape\":[1,4],\"data\":" + data + "}]}";
        String json = given().contentType(ContentType.JSON).body(body)
                .post("/v2/models/identity_" + datatype.toLowerCase() + "/infer")
                .then().statusCode(200)
                .body("outputs[0].datatype", equalTo(datatype))
                .extract().asString();
        String returned = json.substring(json.indexOf("\"data\":") + 7, json.lastIndexOf("]") + 1);
        returned = returned.substring(0, returned.indexOf(']') + 1);
        assertThat(returned).isEqualTo(data);
    }

    @ParameterizedTest
    @CsvSource({"UINT16", "UINT32", "UINT64"})
    void modelsWithUnsignedWideInputsFailWithTheReason(String datatype) {
        // identity_uint16 has warmup off: the load itself fails it, not a request that finds it out
        Await.modelSettled("identity_" + datatype.toLowerCase()); // optional: readiness does not wait for it
        infer("identity_" + datatype.toLowerCase(), Map.of("inputs", List.of(
                tensor("INPUT0", datatype, List.of(1, 4), List.of(1, 2, 3, 4)))))
                .then().statusCode(503).body("error", containsString("is FAILED: input 'INPUT0': datatype "
                        + datatype + " cannot be fed"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = ';', value = {
        // body; words the error must contain
        "{\"inputs\":[{\"name\":\"C\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]},"
            + "{\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}]};"
            + "missing input 'A'; model 'add' expects [A, B], and input 'C' is not one of them",
        "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]},"
            + "{\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}],"
            + "\"parameters\":{\"binary_data_output\":\"true\"}};"
            + "parameter binary_data_output must be true or false, was \"true\"",
        "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]},"
            + "{\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]},"
            + "{\"name\":\"Z\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}]};unknown input 'Z'",
        "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP64\",\"shape\":[1,4],\"data\":[1,2,3,4]},"
            + "{\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}]};input 'A' has datatype FP64",
        "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[1,2]},"
            + "{\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}]};input 'A' has shape [1, 2]",
        "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3]},"
            + "{\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}]};has 3 elements in data",
        "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[2,4],\"data\":[1,2,3,4,5,6,7,8]},"
            + "{\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}]};other inputs have 2",
        "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP99\",\"shape\":[1,4],\"data\":[1,2,3,4]}]};unknown datatype 'FP99'",
        "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,-4],\"data\":[1,2,3,4]}]};invalid dimension -4",
        "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[0,2147483648],\"data\":[]}]};shape too large to address",
        "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,\"x\",3,4]}]};element 1",
        "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4]}]};has no data",
        "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]},"
            + "{\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}],"
            + "\"outputs\":[{\"name\":\"PRODUCT\"}]};unknown output 'PRODUCT'",
        "{\"inputs\": [;malformed JSON",
        "[1,2];must be a JSON object",
        "{\"outputs\":[]};no 'inputs' array",
        "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]},"
            + "{\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}],"
            + "\"parameters\":{\"priority\":-1}};parameter 'priority' must be a non-negative integer",
        "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}]} {};more after its JSON object",
        "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}],"
            + "\"outputs\":{\"name\":\"SUM\"}};must be an array, was OBJECT",
        "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],\"parameters\":{\"binary_data_size\":16}}]};"
            + "no Inference-Header-Content-Length header",
        "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]},"
            + "{\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}],"
            + "\"outputs\":[{\"name\":\"SUM\",\"parameters\":{\"classification\":0}}]};"
            + "output 'SUM' parameter classification must be a positive integer (how many classes), was 0",
        "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4],"
            + "\"parameters\":{\"classification\":2}},"
            + "{\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}]};"
            + "input 'A' has parameter 'classification', which applies to requested outputs only",
        "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],\"parameters\":"
            + "{\"shared_memory_region\":\"r\",\"shared_memory_byte_size\":16}}]};the shared-memory extension",
        "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]},"
            + "{\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}],"
            + "\"outputs\":[{\"name\":\"SUM\"},{\"name\":\"SUM\"}]};output 'SUM' is asked for twice",
        "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]},"
            + "{\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}],"
            + "\"outputs\":[{\"name\":\"SUM\",\"parameters\":{\"binary_data\":\"true\"}}]};"
            + "output 'SUM' parameter binary_data must be true or false, was \"true\"",
        "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]},"
            + "{\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}],"
            + "\"parameters\":{\"binary_data_output\":1}};parameter binary_data_output must be true or false, was 1",
        "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4],"
            + "\"parameters\":{\"binary_data_size\":16}}]};input 'A' has both 'data' and binary_data_size",
        "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[[1,2,3],[4]]},"
            + "{\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}]};"
            + "input 'A' has ragged data: data[1] has 1 element, but data[0] has 3 elements",
        "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]},"
            + "{\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}],"
            + "\"parameters\":{\"n\":123456789012345678901234567890}};"
            + "parameter 'n' is 123456789012345678901234567890, an integer outside [-2^63, 2^64-1]",
        "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4],"
            + "\"parameters\":{\"big\":1e400}},"
            + "{\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}]};"
            + "parameter 'big' is a number too large for a double",
    })
    void invalidInputIs400NamingTheProblem(String body, String message) {
        given().contentType(ContentType.JSON).body(body).post("/v2/models/add/infer")
                .then().statusCode(400).body("error", containsString(message));
    }

    @Test
    void dataMayComeBeforeItsShapeAndAnOutputsOwnBinaryDataSettingWins() {
        // fields in any order: the data is decoded once the input's datatype and shape are known
        String body = "{\"inputs\":[{\"data\":[[1,2,3,4]],\"shape\":[1,4],\"datatype\":\"FP32\",\"name\":\"A\"},"
                + "{\"data\":[10,20,30,40],\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4]}],"
                + "\"parameters\":{\"binary_data_output\":true},"
                + "\"outputs\":[{\"name\":\"SUM\",\"parameters\":{\"binary_data\":false}}]}";
        // binary_data_output asks for binary, but SUM's own binary_data:false wins, as in Triton: plain JSON
        given().contentType(ContentType.JSON).body(body).post("/v2/models/add/infer").then().statusCode(200)
                .header("Inference-Header-Content-Length", org.hamcrest.Matchers.nullValue())
                .body("outputs[0].name", equalTo("SUM"))
                .body("outputs[0].data", equalTo(List.of(11.0f, 22.0f, 33.0f, 44.0f)));
    }

    @Test
    void gzipAndDeflateBodiesAreReadAndTheLimitCountsTheirDecompressedBytes() throws java.io.IOException {
        String json = "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]},"
                + "{\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,1,1,1]}]}";
        given().contentType(ContentType.JSON).header("Content-Encoding", "gzip").body(gzip(json.getBytes()))
                .post("/v2/models/add/infer").then().statusCode(200).body("outputs[0].data", equalTo(List.of(2.0f, 3.0f, 4.0f, 5.0f)));
        java.io.ByteArrayOutputStream deflated = new java.io.ByteArrayOutputStream();
        try (var out = new java.util.zip.DeflaterOutputStream(deflated)) {
            out.write(json.getBytes());
        }
        given().contentType(ContentType.JSON).header("Content-Encoding", "deflate").body(deflated.toByteArray())
                .post("/v2/models/add/infer").then().statusCode(200);
        // 9 MB of spaces (the tests' limit is 8M) gzip to a few KB: refused on what it becomes, never read whole
        byte[] bomb = gzip((json.substring(0, json.length() - 1) + " ".repeat(9 << 20) + "}").getBytes());
        assertThat(bomb.length).isLessThan(64 << 10);
        given().contentType(ContentType.JSON).header("Content-Encoding", "gzip").body(bomb)
                .post("/v2/models/add/infer").then().statusCode(413)
                .body("error", containsString("inflates (gzip) to more than the server's limit of 8388608 bytes"));
        // raw deflate, without zlib's wrapper, as some clients send it
        java.io.ByteArrayOutputStream raw = new java.io.ByteArrayOutputStream();
        try (var out = new java.util.zip.DeflaterOutputStream(raw, new java.util.zip.Deflater(6, true))) {
            out.write(json.getBytes());
        }
        given().contentType(ContentType.JSON).header("Content-Encoding", "deflate").body(raw.toByteArray())
                .post("/v2/models/add/infer").then().statusCode(200);
    }

    @Test
    void aBodyThatIsNotWhatItsCodingSaysIs400AndAnotherCoding415() throws java.io.IOException {
        String json = "{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]},"
                + "{\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,1,1,1]}]}";
        // the HTTP server's decompressor closed the connection on these without an answer
        for (String coding : List.of("gzip", "deflate", "x-gzip")) {
            given().contentType(ContentType.JSON).header("Content-Encoding", coding).body(json)
                    .post("/v2/models/add/infer").then().statusCode(400)
                    .body("error", containsString("request body is not valid " + coding));
        }
        byte[] cut = gzip(json.getBytes());
        given().contentType(ContentType.JSON).header("Content-Encoding", "gzip").body(java.util.Arrays.copyOf(cut, cut.length - 12))
                .post("/v2/models/add/infer").then().statusCode(400).body("error", containsString("not valid gzip"));
        // bytes after the data: the JDK's streams read these bodies as if they ended with the data (200)
        byte[] garbage = "GARBAGE".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        java.io.ByteArrayOutputStream deflated = new java.io.ByteArrayOutputStream();
        try (var out = new java.util.zip.DeflaterOutputStream(deflated)) {
            out.write(json.getBytes());
        }
        for (String coding : List.of("gzip", "deflate")) {
            byte[] data = coding.equals("gzip") ? cut : deflated.toByteArray();
            byte[] body = java.nio.ByteBuffer.allocate(data.length + garbage.length).put(data).put(garbage).array();
            given().contentType(ContentType.JSON).header("Content-Encoding", coding).body(body)
                    .post("/v2/models/add/infer").then().statusCode(400)
                    .body("error", equalTo("request body is not valid " + coding + " (Content-Encoding: " + coding + "): "
                            + (coding.equals("gzip") ? "7 bytes after the gzip data are not another gzip member"
                                    : "7 bytes after the deflate data")));
        }
        // it was read as no coding at all
        given().contentType(ContentType.JSON).header("Content-Encoding", "br").body(json)
                .post("/v2/models/add/infer").then().statusCode(415)
                .body("error", containsString("Content-Encoding 'br' is not one Sluice reads"));
        given().contentType(ContentType.JSON).header("Content-Encoding", "b".repeat(300)).body(json) // quoted cut
                .post("/v2/models/add/infer").then().statusCode(415)
                .body("error", containsString("Content-Encoding '" + "b".repeat(64) + "\u2026 (300 characters)' is not one"));
        given().contentType(ContentType.JSON).header("Content-Encoding", "identity").body(json)
                .post("/v2/models/add/infer").then().statusCode(200);
        given().contentType(ContentType.JSON).header("Content-Encoding", "gzip, identity").body(gzip(json.getBytes()))
                .post("/v2/models/add/infer").then().statusCode(200);
        given().contentType(ContentType.JSON).header("Content-Encoding", "gzip, gzip").body(json)
                .post("/v2/models/add/infer").then().statusCode(415);
        given().contentType(ContentType.JSON).header("Content-Encoding", "gzip").body(new byte[0])
                .post("/v2/models/add/infer").then().statusCode(400).body("error", containsString("not valid gzip"))
                .body("error", org.hamcrest.Matchers.not(containsString("null")));
    }

    /** {@code data} gzipped (also for {@link RestBodyLimitTest}). */
    static byte[] gzip(byte[] data) throws java.io.IOException {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (var out = new java.util.zip.GZIPOutputStream(bytes)) {
            out.write(data);
        }
        return bytes.toByteArray();
    }

    @Test
    void aHeaderSentTwiceOrEmptyIsRefusedAndContentEncodingsSentApartAreOneList() throws Exception {
        String body = "{\"inputs\":[{\"name\":\"X\",\"datatype\":\"FP32\",\"shape\":[1,3],\"data\":[1,1,1]}]}";
        for (String header : List.of("Sluice-Timeout-Us", "Sluice-Priority", "Inference-Header-Content-Length")) {
            given().contentType(ContentType.JSON).header(header, "5").header(header, "7").body(body)
                    .post("/v2/models/matmul/infer").then().statusCode(400)
                    .body("error", equalTo("header " + header + " is sent 2 times; send it once"));
            given().contentType(ContentType.JSON).header(header, "").body(body).post("/v2/models/matmul/infer")
                    .then().statusCode(400).body("error", equalTo("header " + header + " must be a non-negative"
                            + " integer up to 2^64 - 1, was ''"));
        }
        // RFC 9110: two Content-Encoding fields are one list, "identity, gzip"
        given().contentType(ContentType.JSON).header("Content-Encoding", "identity").header("Content-Encoding", "gzip")
                .body(gzip(body.getBytes())).post("/v2/models/matmul/infer").then().statusCode(200);
    }

    @Test
    void priorityAndTimeoutHeadersAreRead() {
        String body = "{\"inputs\":[{\"name\":\"X\",\"datatype\":\"FP32\",\"shape\":[1,3],\"data\":[1,1,1]}]}";
        given().contentType(ContentType.JSON).header("Sluice-Priority", "1").body(body).post("/v2/models/matmul/infer")
                .then().statusCode(200);
        // a level the model lacks is its default level, as Triton reads it (matmul has one level)
        given().contentType(ContentType.JSON).header("Sluice-Priority", "3").body(body).post("/v2/models/matmul/infer")
                .then().statusCode(200);
        given().contentType(ContentType.JSON).body("{\"inputs\":[{\"name\":\"X\",\"datatype\":\"FP32\",\"shape\":[1,3],"
                + "\"data\":[1,1,1]}],\"parameters\":{\"priority\":18446744073709551}}").post("/v2/models/matmul/infer")
                .then().statusCode(200);
        given().contentType(ContentType.JSON).header("Sluice-Priority", "high").body(body).post("/v2/models/matmul/infer")
                .then().statusCode(400).body("error", containsString("Sluice-Priority"));
        // 0 is no timeout, as Triton reads its timeout parameter; 1 us has passed before the model is reached
        given().contentType(ContentType.JSON).header("Sluice-Timeout-Us", "0").body(body).post("/v2/models/matmul/infer")
                .then().statusCode(200);
        given().contentType(ContentType.JSON).header("Sluice-Timeout-Us", "1").body(body).post("/v2/models/matmul/infer")
                .then().statusCode(504).body("error", containsString("deadline passed before"));
        given().contentType(ContentType.JSON).body("{\"parameters\":{\"timeout\":0},"
                + "\"inputs\":[{\"name\":\"X\",\"datatype\":\"FP32\",\"shape\":[1,3],\"data\":[1,1,1]}]}")
                .post("/v2/models/matmul/infer").then().statusCode(200);
        given().contentType(ContentType.JSON).header("Sluice-Timeout-Us", "30000000").body(body).post("/v2/models/matmul/infer")
                .then().statusCode(200);
        // too long for nanoseconds: no deadline, never one that has already passed
        given().contentType(ContentType.JSON).header("Sluice-Timeout-Us", Long.toString(Long.MAX_VALUE)).body(body)
                .post("/v2/models/matmul/infer").then().statusCode(200);
        String forever = "{\"parameters\":{\"timeout\":" + Long.MAX_VALUE + "},"
                + "\"inputs\":[{\"name\":\"X\",\"datatype\":\"FP32\",\"shape\":[1,3],\"data\":[1,1,1]}]}";
        given().contentType(ContentType.JSON).body(forever).post("/v2/models/matmul/infer").then().statusCode(200);
    }

    @Test
    void uint64ParametersPastInt64AreReadAsUnsignedAndEchoedExactly() {
        // Triton's priority is a uint64: its largest value is a level past the model's, so the default level
        String body = "{\"parameters\":{\"priority\":18446744073709551615,\"timeout\":18446744073709551615,"
                + "\"tag\":9223372036854775808},"
                + "\"inputs\":[{\"name\":\"X\",\"datatype\":\"FP32\",\"shape\":[1,3],\"data\":[1,1,1]}]}";
        String answer = given().contentType(ContentType.JSON).body(body).post("/v2/models/matmul/infer")
                .then().statusCode(200).extract().asString();
        assertThat(answer).contains("\"tag\":9223372036854775808");
        given().contentType(ContentType.JSON).body(body.replace("18446744073709551615,\"timeout", "18446744073709551616,\"timeout"))
                .post("/v2/models/matmul/infer").then().statusCode(400)
                .body("error", containsString("parameter 'priority' is 18446744073709551616, an integer outside [-2^63, 2^64-1]"));
        // the headers read the same range: 2^64 - 1 is no deadline and a level past the model's (a 400 before)
        String plain = "{\"inputs\":[{\"name\":\"X\",\"datatype\":\"FP32\",\"shape\":[1,3],\"data\":[1,1,1]}]}";
        given().contentType(ContentType.JSON).header("Sluice-Timeout-Us", "18446744073709551615")
                .header("Sluice-Priority", "18446744073709551615").body(plain)
                .post("/v2/models/matmul/infer").then().statusCode(200);
        given().contentType(ContentType.JSON).header("Sluice-Timeout-Us", "18446744073709551616").body(plain)
                .post("/v2/models/matmul/infer").then().statusCode(400)
                .body("error", equalTo("header Sluice-Timeout-Us must be a non-negative integer up to 2^64 - 1, was"
                        + " '18446744073709551616'"));
        given().contentType(ContentType.JSON).header("Sluice-Timeout-Us", "-0").body(plain) // 0: none, as before
                .post("/v2/models/matmul/infer").then().statusCode(200);
        given().contentType(ContentType.JSON).header("Sluice-Priority", "-1" + "9".repeat(200)).body(plain)
                .post("/v2/models/matmul/infer").then().statusCode(400)
                .body("error", equalTo("header Sluice-Priority must be a non-negative integer up to 2^64 - 1, was '-1" + "9".repeat(62)
                        + "\u2026 (202 characters)'"));
    }

    @Test
    void anAnswerWithMoreJsonTextThanAnEventLoopShouldWriteComesWholeFromAWorker() {
        int rows = 70_000; // 280,000 elements: past the 262,144 an event loop writes itself
        java.nio.ByteBuffer data = java.nio.ByteBuffer.allocate(rows * 16).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < rows * 4; i++) {
            data.putFloat(i);
        }
        byte[] header = ("{\"inputs\":[{\"name\":\"INPUT0\",\"datatype\":\"FP32\",\"shape\":[" + rows + ",4],"
                + "\"parameters\":{\"binary_data_size\":" + rows * 16 + "}}]}").getBytes();
        byte[] body = new byte[header.length + rows * 16];
        System.arraycopy(header, 0, body, 0, header.length);
        System.arraycopy(data.array(), 0, body, header.length, rows * 16);

        JsonPath answer = given().header("Inference-Header-Content-Length", header.length)
                .contentType("application/octet-stream").body(body).post("/v2/models/identity_fp32/infer")
                .then().statusCode(200).contentType(ContentType.JSON).extract().jsonPath();

        List<Float> printed = answer.getList("outputs[0].data", Float.class);
        assertThat(printed).hasSize(rows * 4);
        for (int i = 0; i < rows * 4; i++) {
            assertThat(printed.get(i)).isEqualTo((float) i);
        }
    }

    @Test
    void floatsPastTheirDatatypesRangeAre400RatherThanInfinity() {
        infer("identity_fp32", Map.of("inputs", List.of(tensor("INPUT0", "FP32", List.of(1, 4), List.of(1, 2, 3, 1e39)))))
                .then().statusCode(400).body("error", containsString("input 'INPUT0' element 3 is 1.0E39, expected a number "
                        + "no larger in magnitude than 3.4028235E38"));
        infer("identity_fp16", Map.of("inputs", List.of(tensor("INPUT0", "FP16", List.of(1, 4), List.of(1, 2, -70000, 4)))))
                .then().statusCode(400).body("error", containsString("element 2 is -70000, expected a number no larger "
                        + "in magnitude than 65504"));
        given().contentType(ContentType.JSON).body("{\"inputs\":[{\"name\":\"INPUT0\",\"datatype\":\"FP64\",\"shape\":[1,4],"
                + "\"data\":[1e400,2,3,4]}]}").post("/v2/models/identity_fp64/infer")
                .then().statusCode(400).body("error", containsString("element 0 is 1e400"));
        // an infinity asked for by name still is one
        infer("identity_fp32", Map.of("inputs", List.of(tensor("INPUT0", "FP32", List.of(1, 4), List.of(1, 2, 3, "Infinity")))))
                .then().statusCode(200).body("outputs[0].data[3]", equalTo("Infinity"));
    }

    @Test
    void bareNaNAndInfinityTokensAsPythonsJsonWritesThemAreRead() {
        // json.dumps of a numpy float array (tritonclient with binary_data=False) writes NaN, Infinity, -Infinity
        for (String model : List.of("identity_fp32", "identity_fp16", "identity_fp64")) {
            String datatype = "FP" + model.substring(model.length() - 2);
            given().contentType(ContentType.JSON).body("{\"parameters\":{\"scale\":NaN},\"inputs\":[{\"name\":\"INPUT0\","
                    + "\"datatype\":\"" + datatype + "\",\"shape\":[1,4],\"data\":[NaN,Infinity,-Infinity,1.5]}]}")
                    .post("/v2/models/" + model + "/infer").then().statusCode(200)
                    .body("outputs[0].data", contains("NaN", "Infinity", "-Infinity", 1.5f))
                    .body("parameters.scale", equalTo("NaN"));
        }
        // not a number for an integer
        given().contentType(ContentType.JSON).body("{\"inputs\":[{\"name\":\"INPUT0\",\"datatype\":\"INT8\","
                + "\"shape\":[1,4],\"data\":[1,2,3,NaN]}]}").post("/v2/models/identity_int8/infer")
                .then().statusCode(400).body("error", containsString("element 3 is NaN"));
    }

    @Test
    void aContentTypeThatIsNotAMediaTypeIs400NamingIt() {
        given().config(io.restassured.RestAssured.config().encoderConfig(io.restassured.config.EncoderConfig.encoderConfig()
                        .encodeContentTypeAs("json", ContentType.TEXT)))
                .contentType("json").body("{}").post("/v2/models/add/infer").then().statusCode(400)
                .contentType(containsString("application/json"))
                .body("error", equalTo("Content-Type 'json; charset=ISO-8859-1' is not a media type (type/subtype, such as "
                        + "application/json)")); // the charset is RestAssured's
        // a long one is quoted as any client value is: its first 64 characters and its length (it came back whole)
        String longType = "j".repeat(5_000);
        given().config(io.restassured.RestAssured.config().encoderConfig(io.restassured.config.EncoderConfig.encoderConfig()
                        .encodeContentTypeAs(longType, ContentType.TEXT).appendDefaultContentCharsetToContentTypeIfUndefined(false)))
                .contentType(longType).body("{}").post("/v2/models/add/infer").then().statusCode(400)
                .body("error", equalTo("Content-Type '" + "j".repeat(64) + "\u2026 (5000 characters)' is not a media type"
                        + " (type/subtype, such as application/json)"));
    }

    @Test
    void aStringWithAnUnpairedSurrogateIs400RatherThanAltered() {
        given().contentType(ContentType.JSON).body("{\"inputs\":[{\"name\":\"INPUT0\",\"datatype\":\"BYTES\",\"shape\":[1,2],"
                + "\"data\":[\"\\ud83d\\ude00\",\"a\\ud800\"]}]}").post("/v2/models/identity_bytes/infer")
                .then().statusCode(400).body("error", containsString("input 'INPUT0' element 1 holds the unpaired surrogate "
                        + "\\uD800, which is not a character"));
    }

    @Test
    void integersOutOfRangeAre400() {
        infer("identity_int8", Map.of("inputs", List.of(tensor("INPUT0", "INT8", List.of(1, 4), List.of(1, 2, 3, 300)))))
                .then().statusCode(400).body("error", containsString("element 3 is 300"));
        infer("identity_bf16", Map.of("inputs", List.of(tensor("INPUT0", "BF16", List.of(1, 4), List.of(1, 2, 3, 4)))))
                .then().statusCode(400).body("error", containsString("binary data"));
    }

    @Test
    void bodyOverTheLimitIs413AndSaysWhy() throws Exception {
        // answered from the Content-Length alone, before the body is read, and the connection closed
        java.net.URL url = new java.net.URL(io.restassured.RestAssured.baseURI);
        long length = 9L * 1024 * 1024;
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", io.restassured.RestAssured.port)) {
            socket.setSoTimeout(30_000);
            socket.getOutputStream().write(("POST /v2/models/add/infer HTTP/1.1\r\nHost: " + url.getHost()
                    + "\r\nContent-Type: application/json\r\nContent-Length: " + length + "\r\n\r\n")
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            // read until the server closes: the whole answer, and proof that it closes
            String answer = new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertThat(answer).startsWith("HTTP/1.1 413");
            assertThat(answer.toLowerCase(java.util.Locale.ROOT)).contains("connection: close")
                    .contains("content-type: application/json");
            String body = answer.substring(answer.indexOf("\r\n\r\n") + 4);
            assertThat(new io.vertx.core.json.JsonObject(body).getString("error")).isEqualTo(
                    "request body of " + length + " bytes is larger than the server's limit of " + (8L * 1024 * 1024)
                            + " bytes (quarkus.http.limits.max-body-size)");
        }
    }

    @Test
    void aBodyOfExactlyTheLimitIsReadAndJudgedOnItsContent() {
        byte[] body = new byte[8 * 1024 * 1024];
        java.util.Arrays.fill(body, (byte) 'a');
        given().contentType(ContentType.JSON).body(body).post("/v2/models/add/infer")
                .then().statusCode(400).body("error", org.hamcrest.Matchers.not(containsString("limit")));
    }

    @Test
    void aFailedModelIs503AndTheOthersServe() {
        Await.modelSettled("corrupt"); // optional: readiness does not wait for it
        infer("corrupt", Map.of("inputs", List.of())).then().statusCode(503)
                .header("Retry-After", org.hamcrest.Matchers.notNullValue())
                .body("error", containsString("FAILED"));
        assertThat(given().get("/q/metrics").asString()).containsPattern(
                "(?m)^sluice_rejections_total\\{model=\"corrupt\",reason=\"not_ready\"} [1-9]");
        given().get("/q/health/ready").then().statusCode(200)
                .body("checks.find { it.name == 'models' }.data.'corrupt/1'", containsString("FAILED: ONNX Runtime cannot load"))
                .body("checks.find { it.name == 'models' }.data.'add/2'", equalTo("READY"));
    }

    @Test
    void aRuntimeFailureIs500AndFailsOnlyItsOwnRequest() {
        infer("reshape", Map.of("inputs", List.of(tensor("X", "FP32", List.of(2, 4), List.of(1, 2, 3, 4, 5, 6, 7, 8)))))
                .then().statusCode(500).body("error", containsString("model 'reshape' failed"));
        infer("reshape", Map.of("inputs", List.of(tensor("X", "FP32", List.of(1, 4), List.of(1, 2, 3, 4)))))
                .then().statusCode(200).body("outputs[0].shape", equalTo(List.of(2, 2)));
    }

    private static io.restassured.response.Response infer(String model, Map<String, Object> body) {
        return given().contentType(ContentType.JSON).body(body).post("/v2/models/" + model + "/infer");
    }

    static Map<String, Object> tensor(String name, String datatype, List<Integer> shape, List<?> data) {
        return Map.of("name", name, "datatype", datatype, "shape", shape, "data", data);
    }
}
