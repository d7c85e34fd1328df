package io.sluice.model;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.sluice.Await;
import io.sluice.fixtures.OnnxModelWriter;
import io.sluice.fixtures.OnnxModelWriter.DataType;
import io.sluice.fixtures.TinyModels;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Warmup from sample files for inputs that are not one row of a batch: a sequence of any length in a model that
 * does not batch (its length read from the file), a tensor of fixed shape and a scalar (the whole tensor from the
 * file). Before, every file was read as one row: the sequence had to hold 1 element, the fixed tensor failed with a
 * row's worth of data, and the scalar failed the load.
 */
@QuarkusTest
@TestProfile(WarmupFilesTest.Profile.class)
class WarmupFilesTest {

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Path repo = TinyModels.newRepository("sluice-warmup-files");
            TinyModels.writeWarmup(TinyModels.write(repo, "sequence", 1, TinyModels.identity(DataType.INT64, "tokens")),
                    "INPUT0", new byte[5 * 8]); // five tokens
            TinyModels.writeWarmup(TinyModels.write(repo, "fixed", 1, TinyModels.identity(DataType.FLOAT, 2, 3)),
                    "INPUT0", new byte[6 * 4]);
            byte[] scalar = new OnnxModelWriter("scalar").input("X", DataType.FLOAT).output("Y", DataType.FLOAT)
                    .node("Identity", List.of("X"), List.of("Y")).build();
            TinyModels.writeWarmup(TinyModels.write(repo, "scalar", 1, scalar), "X", new byte[4]);
            TinyModels.writeWarmup(TinyModels.write(repo, "sequence-bad", 1, TinyModels.identity(DataType.INT64, "tokens")),
                    "INPUT0", new byte[12]); // not a whole number of INT64 tokens
            TinyModels.write(repo, "sample-missing", 1, TinyModels.identity(DataType.FLOAT, 2, 3)); // no warmup/INPUT0
            return Map.of(
                    "sluice.repository.paths", repo.toString(),
                    "sluice.model-defaults.warmup.data", "files",
                    "sluice.models.sequence.batching.max-batch-size", "1",
                    "sluice.models.sequence-bad.batching.max-batch-size", "1",
                    "sluice.models.sequence-bad.required", "false",
                    "sluice.models.sample-missing.required", "false");
        }
    }

    @Test
    void samplesThatAreNotOneRowWarmTheirModels() {
        Await.serverReady();
        for (String model : List.of("sequence", "fixed", "scalar")) {
            given().get("/v2/models/" + model + "/ready").then().statusCode(200);
        }
        String reason = given().get("/q/health/ready").jsonPath()
                .getString("checks.find { it.name == 'models' }.data.'sequence-bad/1'");
        assertThat(reason).contains("FAILED: warmup file").contains("has 12 bytes")
                .contains("needs a positive multiple of 8");
        // the reason names what is wrong with the file, not only its path
        assertThat(given().get("/q/health/ready").jsonPath()
                .getString("checks.find { it.name == 'models' }.data.'sample-missing/1'"))
                .matches("FAILED: warmup file .*/sample-missing/1/warmup/INPUT0 is missing: warmup.data=files needs one"
                        + " per input");
    }
}
