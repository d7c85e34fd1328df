package io.sluice;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.sluice.config.ExecutionProvider;
import io.sluice.fixtures.TinyModels;
import io.sluice.runtime.GpuProbe;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A model asking for CUDA: with {@code on-gpu-unavailable=fallback} it serves on CPU and says so;
 * with {@code fail} it is FAILED with the reason. Where a GPU is present both run on CUDA instead,
 * and the test checks that.
 */
@QuarkusTest
@TestProfile(GpuProviderTest.Profile.class)
class GpuProviderTest {

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Path repo = TinyModels.newRepository("sluice-gpu");
            TinyModels.write(repo, "gpu-fallback", 1, TinyModels.add());
            TinyModels.write(repo, "gpu-required", 1, TinyModels.add());
            TinyModels.write(repo, "cpu-only", 1, TinyModels.add());
            TinyModels.write(repo, "sequence-out", 1, TinyModels.sequenceOutput());
            return Map.of(
                    "sluice.repository.paths", repo.toString(),
                    "sluice.models.gpu-fallback.execution.provider", "cuda",
                    "sluice.models.gpu-fallback.execution.on-gpu-unavailable", "fallback",
                    "sluice.models.gpu-required.execution.provider", "cuda",
                    "sluice.models.gpu-required.execution.on-gpu-unavailable", "fail",
                    "sluice.models.gpu-required.required", "false",
                    "sluice.models.sequence-out.execution.provider", "cuda",
                    "sluice.models.sequence-out.required", "false");
        }
    }

    @Inject
    GpuProbe probe;

    @Test
    void cudaFallsBackOrFailsAsConfigured() {
        Await.serverReady();
        boolean noGpu = probe.unavailable(ExecutionProvider.CUDA, 0).isPresent();
        String expected = noGpu ? "cpu" : "cuda";
        given().get("/v2/models/gpu-fallback").then().statusCode(200)
                .body("parameters.execution_provider", equalTo(expected));
        given().get("/v2/models/gpu-fallback/ready").then().statusCode(200);
        given().get("/v2/models/cpu-only").then().body("parameters.execution_provider", equalTo("cpu"));
        // one readiness series per version, tagged with the provider it runs on (registered for cuda while loading)
        String metrics = given().get("/q/metrics").then().statusCode(200).extract().asString();
        assertThat(metrics).contains("sluice_model_ready{model=\"gpu-fallback\",provider=\"" + expected + "\",version=\"1\"} 1.0");
        assertThat(metrics.lines().filter(l -> l.startsWith("sluice_model_ready{model=\"gpu-fallback\"")))
                .hasSize(1);
        if (noGpu) {
            given().get("/v2/models/gpu-required/ready").then().statusCode(400);
            given().get("/q/health/ready").then().statusCode(200)
                    .body("checks.find { it.name == 'models' }.data.'gpu-required/1'", containsString("FAILED: cuda unavailable"))
                    .body("checks.find { it.name == 'models' }.data.'gpu-required/1'", containsString("on-gpu-unavailable=fail"));
        } else {
            given().get("/v2/models/gpu-required/ready").then().statusCode(200);
        }
        // one probe for (cuda, device 0), however many models asked
        assertThat(probe.probes()).isEqualTo(1);
    }

    @Test
    void aModelSluiceCannotServeIsFailedForWhatItIs() {
        Await.serverReady();
        // the model's own reason, not "cannot load ... on cpu" (here the probe found no GPU, so it was opened on
        // the CPU; on a GPU host the session starts on CUDA and the same reason ends the load without a CPU retry)
        given().get("/q/health/ready").then().statusCode(200)
                .body("checks.find { it.name == 'models' }.data.'sequence-out/1'",
                        equalTo("FAILED: 'S' is not a tensor (Sluice serves tensor inputs and outputs)"));
        given().get("/v2/models/sequence-out/ready").then().statusCode(400);
        given().get("/v2/models/cpu-only/ready").then().statusCode(200);
    }

    @Test
    void djlTelemetryIsSwitchedOff() {
        Await.serverReady();
        assertThat(System.getProperty("OPT_OUT_TRACKING")).isEqualTo("true");
        assertThat(System.getProperty("ai.djl.offline")).isEqualTo("true");
    }
}
