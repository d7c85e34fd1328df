package io.sluice.model;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
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
 * requests is answered alone, and from then on the model's configuration says it does not batch. Its response cache
 * is on: a classification asked for in that first batch is ranked per row, as the model's configuration said when
 * it came and as its cache key says, and the same request after the stop is ranked over the whole output under a key
 * of its own, never answered from the entry made before.
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
                    "sluice.models.non-zero.cache.enabled", "true",
                    "sluice.models.non-zero.cache.min-uses", "1",
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

        // one batch of both (the same inputs' shapes and outputs asked for), the first asking for its top classes
        CompletableFuture<Response> one = CompletableFuture.supplyAsync(() -> classify("[1, 0, 0, 0]"));
        CompletableFuture<JsonPath> two = CompletableFuture.supplyAsync(() -> infer("[0, 1, 1, 0]"));
        // each its own non-zero elements' indices: one of the first row, two of the second
        assertThat(two.get(60, TimeUnit.SECONDS).getList("outputs[0].shape", Integer.class)).containsExactly(2, 2);
        assertThat(two.get().getList("outputs[0].data", Integer.class)).containsExactly(0, 1, 0, 2);
        // the first's one index, [[0, 0]], ranked per row as the model batched when it came: [1, 2], not [2]
        Response ranked = one.get(60, TimeUnit.SECONDS);
        assertThat(ranked.header("Sluice-Cache")).isEqualTo("miss");
        assertThat(ranked.jsonPath().getList("outputs[0].shape", Integer.class)).containsExactly(1, 2);
        assertThat(ranked.jsonPath().getList("outputs[0].data", String.class)).containsExactly("0:0", "0:1");

        JsonPath after = given().get("/v2/models/non-zero/config").then().statusCode(200).extract().jsonPath();
        assertThat(after.getInt("max_batch_size")).isZero();
        assertThat(after.getMap("dynamic_batching")).isNull();
        assertThat(after.getList("input[0].dims", Integer.class)).containsExactly(-1, 4); // the first dimension shown

        // and classification ranks the whole output, as for any model that does not batch (Triton's rule)
        JsonPath top = classify("[0, 1, 1, 0]").jsonPath();
        assertThat(top.getList("outputs[0].shape", Integer.class)).containsExactly(2);
        assertThat(top.getList("outputs[0].data", String.class)).containsExactly("2:3", "1:1"); // [[0,1],[0,2]]

        // the first batch's classification again: the stop changed its key, so it is ranked anew, over the whole
        // output, and cached under that key; the entry ranked per row never answers it
        Response again = classify("[1, 0, 0, 0]");
        assertThat(again.header("Sluice-Cache")).isEqualTo("miss");
        assertThat(again.jsonPath().getList("outputs[0].shape", Integer.class)).containsExactly(2);
        assertThat(again.jsonPath().getList("outputs[0].data", String.class)).containsExactly("0:0", "0:1");
        Response cached = classify("[1, 0, 0, 0]");
        assertThat(cached.header("Sluice-Cache")).isEqualTo("hit-l1");
        assertThat(cached.jsonPath().getList("outputs[0].shape", Integer.class)).containsExactly(2);
    }

    /** The top 2 classes of {@code row}'s output. */
    private static Response classify(String row) {
        return given().contentType("application/json")
                .body("{\"inputs\":[{\"name\":\"X\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":" + row + "}],"
                        + "\"outputs\":[{\"name\":\"Y\",\"parameters\":{\"classification\":2}}]}")
                .post("/v2/models/non-zero/infer").then().statusCode(200).extract().response();
    }

    /** {@code row}'s output values; output Y asked for by name, as {@link #classify} asks, so both share a batch. */
    private static JsonPath infer(String row) {
        return given().contentType("application/json")
                .body("{\"inputs\":[{\"name\":\"X\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":" + row + "}],"
                        + "\"outputs\":[{\"name\":\"Y\"}]}")
                .post("/v2/models/non-zero/infer").then().statusCode(200).extract().jsonPath();
    }
}
