package io.sluice;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import io.sluice.fixtures.TinyModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Concurrent requests to one model share a batch, and each caller gets exactly its own rows back. */
@QuarkusTest
@TestProfile(BatchingTest.Profile.class)
class BatchingTest {

    private static final int CALLERS = 8;

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Path repo = TinyModels.newRepository("sluice-batching");
            TinyModels.write(repo, "batched", 1, TinyModels.matmul());
            TinyModels.write(repo, "warmed", 1, TinyModels.matmul());
            return Map.of(
                    "sluice.repository.paths", repo.toString(),
                    "sluice.models.batched.batching.max-batch-size", Integer.toString(CALLERS),
                    // long enough that only a full batch explains a quick answer
                    "sluice.models.batched.batching.max-queue-delay-micros", "10000000",
                    "sluice.models.batched.batching.instances", "1",
                    // one warmup row, so that the largest batch seen can only be the callers'
                    "sluice.models.batched.warmup.batch-sizes", "1",
                    "sluice.models.warmed.batching.max-batch-size", "4");
        }
    }

    @Test
    void concurrentCallersShareABatchAndGetTheirOwnRows() throws Exception {
        Await.serverReady();
        ExecutorService pool = Executors.newFixedThreadPool(CALLERS);
        try {
            List<Future<JsonPath>> answers = new ArrayList<>();
            for (int i = 0; i < CALLERS; i++) {
                int caller = i;
                answers.add(pool.submit(() -> given().contentType("application/json")
                        .body(Map.of("id", "caller-" + caller, "inputs", List.of(Map.of("name", "X", "datatype", "FP32",
                                "shape", List.of(1, 3), "data", List.of(caller, 0, 1)))))
                        .post("/v2/models/batched/infer").then().statusCode(200).extract().jsonPath()));
            }
            for (int i = 0; i < CALLERS; i++) {
                JsonPath out = answers.get(i).get(30, TimeUnit.SECONDS);
                assertThat(out.getString("id")).isEqualTo("caller-" + i);
                assertThat(out.getList("outputs[0].shape", Integer.class)).containsExactly(1, 2);
                // [i, 0, 1] x [[1,2],[3,4],[5,6]] = [i + 5, 2i + 6]
                assertThat(out.getList("outputs[0].data", Float.class)).containsExactly(i + 5f, 2f * i + 6f);
            }
        } finally {
            pool.shutdownNow();
        }
        String metrics = given().get("/q/metrics").asString();
        assertThat(metric(metrics, "sluice_batch_size_max\\{model=\"batched\"}")).isEqualTo(CALLERS);
        assertThat(metric(metrics, "sluice_batch_size_sum\\{model=\"batched\"}")).isEqualTo(1 + CALLERS); // warmup + callers
        assertThat(metric(metrics, "sluice_queue_duration_seconds_count\\{model=\"batched\"}")).isEqualTo(1 + CALLERS);
        assertThat(metric(metrics, "sluice_requests_total\\{model=\"batched\",outcome=\"success\",protocol=\"rest\"}"))
                .isEqualTo(CALLERS);
    }

    @Test
    void warmupRunsEveryBatchSizeTheSchedulerFormsThroughItBeforeReady() {
        Await.serverReady();
        // nobody has called "warmed": what its scheduler ran is the default warmup, batches of 1 and of 4 rows
        String metrics = given().get("/q/metrics").asString();
        assertThat(metric(metrics, "sluice_batch_size_count\\{model=\"warmed\"}")).isEqualTo(2);
        assertThat(metric(metrics, "sluice_batch_size_sum\\{model=\"warmed\"}")).isEqualTo(1 + 4); // 1 and 4 rows
    }

    static double metric(String scrape, String nameAndTags) {
        // a value, then maybe an exemplar (# {trace_id=...}) now that tracing is on
        Matcher m = Pattern.compile("(?m)^" + nameAndTags + " ([0-9.eE+-]+)( #.*)?$").matcher(scrape);
        assertThat(m.find()).as("metric %s in scrape", nameAndTags).isTrue();
        return Double.parseDouble(m.group(1));
    }
}
