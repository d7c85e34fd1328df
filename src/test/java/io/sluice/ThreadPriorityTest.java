package io.sluice;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.contains;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.sluice.fixtures.ProcThreads;
import io.sluice.fixtures.TinyModels;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * In the running server the threads that run a model, ONNX Runtime's intra-op pool among them, sit at
 * the model's nice value (10 unless configured), while the event loops that answer requests keep 0.
 */
@QuarkusTest
@TestProfile(ThreadPriorityTest.Profile.class)
class ThreadPriorityTest {

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Path repo = TinyModels.newRepository("sluice-nice");
            TinyModels.write(repo, "n10", 1, TinyModels.add());
            TinyModels.write(repo, "n0", 1, TinyModels.add());
            return Map.of(
                    "sluice.repository.paths", repo.toString(),
                    // a pool of its own: ONNX Runtime starts intra-op threads while it creates the session
                    "sluice.models.n10.threads.intra-op", "3",
                    "sluice.models.n0.threads.nice", "0",
                    "sluice.models.n0.batching.instances", "1");
        }
    }

    @Test
    void modelThreadsRunBelowTheEventLoops() {
        Await.serverReady();
        String body = """
                {"inputs": [
                  {"name": "A", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]},
                  {"name": "B", "datatype": "FP32", "shape": [1, 4], "data": [1, 1, 1, 1]}]}""";
        for (String model : new String[] {"n10", "n0"}) {
            given().contentType(ContentType.JSON).body(body).post("/v2/models/" + model + "/infer")
                    .then().statusCode(200).body("outputs.find { it.name == 'SUM' }.data", contains(2f, 3f, 4f, 5f));
        }

        assertThat(ProcThreads.named("sluice-run-n10-")).extracting(ProcThreads.Task::nice).containsExactly(10, 10);
        // the session's intra-op pool (2 threads beside the caller) took the name and nice of the thread that created it
        assertThat(ProcThreads.named("sluice-load-n10")).extracting(ProcThreads.Task::nice).containsExactly(10, 10);
        assertThat(ProcThreads.named("sluice-run-n0-")).extracting(ProcThreads.Task::nice).containsExactly(0);
        assertThat(ProcThreads.named("vert.x-eventloo")).isNotEmpty().allSatisfy(t -> assertThat(t.nice()).isZero());
    }
}
