package io.sluice;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.test.junit.QuarkusTest;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Sluice's MiniLM output equals, bit for bit, a raw ONNX Runtime session on the same input. */
@QuarkusTest
class MiniLmParityTest {

    @ParameterizedTest
    @ValueSource(strings = {"all-minilm-l6-v2", "all-minilm-l6-v2-int8"})
    void restJsonMatchesRawOnnxRuntime(String model) throws Exception {
        Await.serverReady();
        int seq = 16;
        long[] ids = new long[seq];
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < seq; i++) {
            ids[i] = i == 0 ? 101 : i == seq - 1 ? 102 : random.nextInt(1000, 30000);
        }
        long[] mask = new long[seq];
        java.util.Arrays.fill(mask, 1);
        long[] types = new long[seq];

        float[] raw = raw(model, ids, mask, types);

        String body = given().contentType("application/json").body(Map.of("inputs", List.of(
                        input("input_ids", ids), input("attention_mask", mask), input("token_type_ids", types))))
                .post("/v2/models/" + model + "/infer").then().statusCode(200).extract().asString();
        JsonNode out = new ObjectMapper().readTree(body).get("outputs").get(0);
        assertThat(out.get("name").asText()).isEqualTo("last_hidden_state");
        float[] served = new float[out.get("data").size()];
        for (int i = 0; i < served.length; i++) {
            served[i] = Float.parseFloat(out.get("data").get(i).asText());
        }
        assertThat(served).hasSize(seq * 384);
        for (int i = 0; i < served.length; i++) {
            assertThat(Float.floatToIntBits(served[i])).as("element %d", i).isEqualTo(Float.floatToIntBits(raw[i]));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"all-minilm-l6-v2", "all-minilm-l6-v2-int8"})
    void bothModelsPassTheRowCheckAndBatch(String model) {
        // int8 quantizes its activations dynamically, over the whole batch: swapping rows keeps the scale, so the
        // load's row check (RowIndependence) passes and the scheduler batches, as it is configured to
        Await.serverReady();
        given().get("/v2/models/" + model + "/config").then().statusCode(200)
                .body("max_batch_size", org.hamcrest.Matchers.equalTo(4));
    }

    private static Map<String, Object> input(String name, long[] values) {
        List<Long> data = new ArrayList<>();
        for (long v : values) {
            data.add(v);
        }
        return Map.of("name", name, "datatype", "INT64", "shape", List.of(1, values.length), "data", data);
    }

    /** The same file in a raw session with Sluice's default thread layout (intra-op 1, inter-op 1). */
    private static float[] raw(String model, long[] ids, long[] mask, long[] types) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(1);
            options.setInterOpNumThreads(1);
            try (OrtSession session = env.createSession("target/model-repository/" + model + "/1/model.onnx", options);
                    OnnxTensor a = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {1, ids.length});
                    OnnxTensor b = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), new long[] {1, ids.length});
                    OnnxTensor c = OnnxTensor.createTensor(env, LongBuffer.wrap(types), new long[] {1, ids.length});
                    OrtSession.Result result = session.run(Map.of("input_ids", a, "attention_mask", b, "token_type_ids", c))) {
                FloatBuffer fb = ((OnnxTensor) result.get("last_hidden_state").orElseThrow()).getFloatBuffer();
                float[] out = new float[fb.remaining()];
                fb.get(out);
                return out;
            }
        }
    }
}
