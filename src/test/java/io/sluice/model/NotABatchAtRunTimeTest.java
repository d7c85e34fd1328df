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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A model whose variable first dimension looked like a batch but is not (its outputs count non-zero elements), with
 * warmup off so that nothing found out before requests came: the first batch is refused by the split, each of its
 * requests is answered alone, and from then on the model's configuration says it does not batch.
 */
@QuarkusTest
@TestProfile(NotABatchAtRunTimeTest.Profile.class)
class NotABatchAtRunTimeTest {

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Path repo = TinyModels.newRepository("sluice-not-a-batch");
            TinyModels.write(repo, "non-zero", 1, TinyModels.nonZeroIndices());
            return Map.of(
                    "sluice.repository.paths", repo.toString(),
                    "sluice.models.non-zero.warmup.enabled", "false",
                    "sluice.models.non-zero.batching.max-batch-size", "2",
                    // the first request waits for the second: one batch of both, whatever the machine's pace
                    "sluice.models.non-zero.batching.max-queue-delay-micros", "60000000");
        }
    }

    @Test
    void theFirstBatchThatIsNoneAnswersEachRequestAloneAndTheConfigurationStopsSayingItBatches() throws Exception {
        Await.serverReady();
        JsonPath before = given().get("/v2/models/non-zero/config").then().statusCode(200).extract().jsonPath();
        assertThat(before.getInt("max_batch_size")).isEqualTo(2);
        assertThat(before.getMap("dynamic_batching")).isNotNull();

        CompletableFuture<JsonPath> one = CompletableFuture.supplyAsync(() -> infer("[1, 0, 0, 0]"));
        CompletableFuture<JsonPath> two = CompletableFuture.supplyAsync(() -> infer("[0, 1, 1, 0]"));
        // each its own non-zero elements' indices: one of the first row, two of the second
        assertThat(one.get(60, TimeUnit.SECONDS).getList("outputs[0].shape", Integer.class)).containsExactly(1, 2);
        assertThat(two.get(60, TimeUnit.SECONDS).getList("outputs[0].shape", Integer.class)).containsExactly(2, 2);
        assertThat(two.get().getList("outputs[0].data", Integer.class)).containsExactly(0, 1, 0, 2);

        JsonPath after = given().get("/v2/models/non-zero/config").then().statusCode(200).extract().jsonPath();
        assertThat(after.getInt("max_batch_size")).isZero();
        assertThat(after.getMap("dynamic_batching")).isNull();
        assertThat(after.getList("input[0].dims", Integer.class)).containsExactly(-1, 4); // the first dimension shown

        // and classification ranks the whole output, as for any model that does not batch (Triton's rule)
        JsonPath top = given().contentType("application/json")
                .body("{\"inputs\":[{\"name\":\"X\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[0,1,1,0]}],"
                        + "\"outputs\":[{\"name\":\"Y\",\"parameters\":{\"classification\":2}}]}")
                .post("/v2/models/non-zero/infer").then().statusCode(200).extract().jsonPath();
        assertThat(top.getList("outputs[0].shape", Integer.class)).containsExactly(2);
        assertThat(top.getList("outputs[0].data", String.class)).containsExactly("2:3", "1:1"); // [[0,1],[0,2]]
    }

    private static JsonPath infer(String row) {
        return given().contentType("application/json")
                .body("{\"inputs\":[{\"name\":\"X\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":" + row + "}]}")
                .post("/v2/models/non-zero/infer").then().statusCode(200).extract().jsonPath();
    }
}
