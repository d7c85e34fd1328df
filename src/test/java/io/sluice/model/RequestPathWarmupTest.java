package io.sluice.model;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.MeterRegistry;
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
import io.sluice.observability.MetricNames;
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

    private static final String LARGE = "wire-warmup-large";
    private static final int LARGE_ROW = 300_000;

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Path repo = TinyModels.newRepository("sluice-request-path-warmup");
            TinyModels.write(repo, "add", 1, TinyModels.add());
            TinyModels.write(repo, RecordedWireWarmup.FAILS, 1, TinyModels.identity(OnnxModelWriter.DataType.FLOAT));
            TinyModels.write(repo, RecordedWireWarmup.OUT_OF_MEMORY, 1,
                    TinyModels.identity(OnnxModelWriter.DataType.FLOAT));
            // a row of 1.2 MB in and out: past what the adapters' warmup carries whole
            TinyModels.write(repo, LARGE, 1, TinyModels.identity(OnnxModelWriter.DataType.FLOAT, "batch", LARGE_ROW));
            return Map.of("sluice.repository.paths", repo.toString());
        }
    }

    @Inject
    Instance<WireWarmup> adapters;

    @Inject
    MeterRegistry registry;

    @Test
    void everyAdapterIsHandedARequestTheModelRanAndTheModelsOwnAnswer() {
        Await.serverReady();
        assertThat(adapters.stream().map(WireWarmup::protocol)).containsExactlyInAnyOrder("REST", "gRPC", "test");
        RecordedWireWarmup.Call add = last("add"); // this application's: another test's 'add' came before
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
        // neither the warmup runs nor the one through the guard count as inferences, nor as requests of any protocol
        assertThat(given().get("/v2/models/add/versions/1/stats").then().statusCode(200).extract().jsonPath()
                .getLong("model_stats[0].inference_count")).isZero();
        assertThat(registry.find(MetricNames.REQUESTS).tag(MetricNames.MODEL, "add").counters())
                .isNotEmpty() // registered at zero with the model
                .allSatisfy(c -> assertThat(c.count()).as(c.getId().toString()).isZero());
    }

    @Test
    void aLargeModelsAdaptersAreWarmedWithEachTensorsFirstElement() {
        Await.serverReady();
        RecordedWireWarmup.Call large = last(LARGE);
        Tensor in = large.request().inputs().get(0);
        Tensor out = large.answer().outputs().get(0);
        assertThat(in.shape()).containsExactly(1, 1);
        assertThat(out.shape()).containsExactly(1, 1);
        assertThat(out.view().getFloat()).as("the model's own answer to that element").isEqualTo(in.view().getFloat());
        // what REST and gRPC were handed too: each carries it without a failure (which warmup would only log)
        for (WireWarmup adapter : adapters) {
            if (!adapter.protocol().equals("test")) {
                adapter.warm(large.metadata(), large.request(), large.answer());
            }
        }
        given().contentType(ContentType.JSON)
                .body(Map.of("inputs", List.of(Map.of("name", "INPUT0", "datatype", "FP32", "shape", List.of(1, LARGE_ROW),
                        "data", new float[LARGE_ROW]))))
                .post("/v2/models/" + LARGE + "/infer")
                .then().statusCode(200).body("outputs[0].shape", org.hamcrest.Matchers.contains(1, LARGE_ROW));
    }

    @Test
    void aModelWhoseAdapterRanOutOfMemoryInWarmupServesAllTheSame() {
        servesAfterItsAdapterFailed(RecordedWireWarmup.OUT_OF_MEMORY);
    }

    @Test
    void aModelWhoseAdapterWarmupFailedServesAllTheSame() {
        servesAfterItsAdapterFailed(RecordedWireWarmup.FAILS);
    }

    /** {@code model}, whose test adapter threw in warmup, was handed its request and answers its identity. */
    private static void servesAfterItsAdapterFailed(String model) {
        Await.serverReady();
        assertThat(RecordedWireWarmup.calls()).anyMatch(c -> c.request().model().equals(model));
        given().contentType(ContentType.JSON)
                .body(Map.of("inputs", List.of(Map.of("name", "INPUT0", "datatype", "FP32", "shape", List.of(1, 4),
                        "data", List.of(1, 2, 3, 4)))))
                .post("/v2/models/" + model + "/infer")
                .then().statusCode(200).body("outputs[0].data", org.hamcrest.Matchers.contains(1f, 2f, 3f, 4f));
    }

    private static RecordedWireWarmup.Call last(String model) {
        List<RecordedWireWarmup.Call> calls = RecordedWireWarmup.calls().stream()
                .filter(c -> c.request().model().equals(model)).toList();
        assertThat(calls).as("warmup calls of " + model).isNotEmpty();
        return calls.get(calls.size() - 1);
    }
}
