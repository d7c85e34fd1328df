package io.sluice.model;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.sluice.Await;
import io.sluice.RecordedWireWarmup;
import io.sluice.fixtures.OnnxModelWriter;
import io.sluice.fixtures.TinyModels;
import io.sluice.inference.Tensor;
import io.sluice.inference.WireWarmup;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Before a model is READY, warmup hands every protocol adapter ({@link WireWarmup}: REST, gRPC, and here the test's
 * {@link RecordedWireWarmup}) a request the model ran in warmup, with the model's own answer to it,
 * so that a client's first request finds the adapters' code loaded. Warmup counts in no statistic, and an adapter that
 * fails leaves the model serving.
 */
@QuarkusTest
@TestProfile(RequestPathWarmupTest.Profile.class)
class RequestPathWarmupTest {

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Path repo = TinyModels.newRepository("sluice-request-path-warmup");
            TinyModels.write(repo, "add", 1, TinyModels.add());
            TinyModels.write(repo, RecordedWireWarmup.FAILS, 1, TinyModels.identity(OnnxModelWriter.DataType.FLOAT));
            return Map.of("sluice.repository.paths", repo.toString());
        }
    }

    @Inject
    Instance<WireWarmup> adapters;

    @Test
    void everyAdapterIsHandedARequestTheModelRanAndTheModelsOwnAnswer() {
        Await.serverReady();
        assertThat(adapters.stream().map(WireWarmup::protocol)).containsExactlyInAnyOrder("REST", "gRPC", "test");
        RecordedWireWarmup.Call add = RecordedWireWarmup.calls().stream()
                .filter(c -> c.request().model().equals("add")).findFirst().orElseThrow();
        assertThat(add.metadata().name()).isEqualTo("add");
        assertThat(add.request().inputs()).extracting(Tensor::name).containsExactly("A", "B");
        assertThat(add.answer().outputs()).extracting(Tensor::name).containsExactly("SUM", "DIFF");
        // the answer is the model's to that very request: SUM = A + B, element by element
        ByteBuffer a = add.request().inputs().get(0).view();
        ByteBuffer b = add.request().inputs().get(1).view();
        ByteBuffer sum = add.answer().outputs().get(0).view();
        assertThat(sum.remaining()).isEqualTo(a.remaining()).isPositive();
        while (a.hasRemaining()) {
            assertThat(sum.getFloat()).isEqualTo(a.getFloat() + b.getFloat());
        }
        // neither the warmup runs nor the one through the guard count as inferences
        assertThat(given().get("/v2/models/add/versions/1/stats").then().statusCode(200).extract().jsonPath()
                .getLong("model_stats[0].inference_count")).isZero();
    }

    @Test
    void aModelWhoseAdapterWarmupFailedServesAllTheSame() {
        Await.serverReady();
        assertThat(RecordedWireWarmup.calls()).anyMatch(c -> c.request().model().equals(RecordedWireWarmup.FAILS));
        given().contentType(ContentType.JSON)
                .body(Map.of("inputs", List.of(Map.of("name", "INPUT0", "datatype", "FP32", "shape", List.of(1, 4),
                        "data", List.of(1, 2, 3, 4)))))
                .post("/v2/models/" + RecordedWireWarmup.FAILS + "/infer")
                .then().statusCode(200);
    }
}
