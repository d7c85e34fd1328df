package io.sluice.model;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import io.sluice.Await;
import io.sluice.fixtures.TinyModels;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A model whose input and output declare no shape at all: any rank fits, and it is described as {@code [-1]}. ONNX
 * Runtime reports such a tensor as it reports a scalar, so before only a scalar was let through ("input 'X' has
 * shape [2, 3], model expects []").
 */
@QuarkusTest
@TestProfile(AnyShapeModelTest.Profile.class)
class AnyShapeModelTest {

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Path repo = TinyModels.newRepository("sluice-any-shape");
            TinyModels.write(repo, "any", 1, TinyModels.identityOfAnyShape());
            return Map.of("sluice.repository.paths", repo.toString());
        }
    }

    @Test
    void aTensorOfAnyRankIsServedAndDescribedAsVariable() {
        Await.serverReady(); // warmed as [dynamic-dim-size], as [-1] reads
        JsonPath metadata = given().get("/v2/models/any").then().statusCode(200).extract().jsonPath();
        assertThat(metadata.getList("inputs[0].shape", Integer.class)).containsExactly(-1);
        assertThat(metadata.getList("outputs[0].shape", Integer.class)).containsExactly(-1);
        JsonPath config = given().get("/v2/models/any/config").then().statusCode(200).extract().jsonPath();
        assertThat(config.getInt("max_batch_size")).isZero(); // its first dimension need not be rows
        assertThat(config.getList("input[0].dims", Integer.class)).containsExactly(-1);

        for (List<Integer> shape : List.of(List.of(2, 3), List.of(6), List.of(1, 2, 3, 1), List.<Integer>of())) {
            List<Double> data = shape.isEmpty() ? List.of(7.0) : List.of(1.0, 2.0, 3.0, 4.0, 5.0, 6.0);
            JsonPath answer = given().contentType("application/json")
                    .body(Map.of("inputs", List.of(Map.of("name", "X", "datatype", "FP32", "shape", shape, "data", data))))
                    .post("/v2/models/any/infer").then().statusCode(200).extract().jsonPath();
            assertThat(answer.getList("outputs[0].shape", Integer.class)).as("shape %s", shape).isEqualTo(shape);
            assertThat(answer.getList("outputs[0].data", Double.class)).isEqualTo(data);
        }
    }

    @Test
    void anEmptyBinaryInputNeedsNoHeader() {
        // KServe's InferRequest.to_rest sends a request whose binary inputs are all empty as plain JSON, each with
        // "data": null and binary_data_size 0, and no Inference-Header-Content-Length; Triton takes it
        Await.serverReady();
        JsonPath answer = given().contentType("application/json")
                .body("{\"inputs\":[{\"name\":\"X\",\"datatype\":\"FP32\",\"shape\":[0],\"data\":null,"
                        + "\"parameters\":{\"binary_data_size\":0}}]}")
                .post("/v2/models/any/infer").then().statusCode(200).extract().jsonPath();
        assertThat(answer.getList("outputs[0].shape", Integer.class)).containsExactly(0);
        assertThat(answer.getList("outputs[0].data", Double.class)).isEmpty();
    }
}
