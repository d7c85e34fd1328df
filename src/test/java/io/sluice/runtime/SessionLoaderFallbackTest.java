package io.sluice.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.sluice.config.ExecutionProvider;
import io.sluice.config.ModelSettings;
import io.sluice.config.SluiceConfig;
import io.sluice.fixtures.TinyModels;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * A GPU the probe found, on which the session still cannot start (here device 99, which no machine has;
 * on this CPU-only machine the CUDA provider's own libraries are missing too): the model falls back to
 * the CPU or fails, as its on-gpu-unavailable setting says, like a GPU the probe did not find.
 */
@QuarkusTest
@TestProfile(SessionLoaderFallbackTest.Profile.class)
class SessionLoaderFallbackTest {

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Path repo = TinyModels.newRepository("sluice-gpu-start");
            TinyModels.write(repo, "add", 1, TinyModels.add());
            return Map.ofEntries(
                    Map.entry("sluice.repository.paths", repo.toString()),
                    Map.entry("sluice.models.falls-back.execution.provider", "cuda"),
                    Map.entry("sluice.models.falls-back.execution.device-id", "99"),
                    Map.entry("sluice.models.falls-back.execution.on-gpu-unavailable", "fallback"),
                    Map.entry("sluice.models.must-have-it.execution.provider", "cuda"),
                    Map.entry("sluice.models.must-have-it.execution.device-id", "99"),
                    Map.entry("sluice.models.must-have-it.execution.on-gpu-unavailable", "fail"),
                    Map.entry("sluice.models.trt.execution.provider", "tensorrt"),
                    Map.entry("sluice.models.trt.execution.on-gpu-unavailable", "fallback"),
                    Map.entry("sluice.models.trt-only.execution.provider", "tensorrt"),
                    Map.entry("sluice.models.trt-only.execution.on-gpu-unavailable", "fail"));
        }
    }

    @Inject
    OnnxEngine engine;

    @Inject
    SluiceConfig config;

    @Test
    void aGpuSessionThatCannotStartFollowsTheFallbackPolicy() {
        SessionLoader loader = new SessionLoader();
        loader.engine = engine;
        loader.probe = new GpuProbe() {
            @Override
            public Optional<String> unavailable(ExecutionProvider provider, int deviceId) {
                return Optional.empty(); // the probe saw a GPU
            }
        };
        Path file = TinyModels.write(TinyModels.newRepository("sluice-gpu-start-file"), "add", 1, TinyModels.add());
        OnnxSession fellBack = loader.load("falls-back", file, ModelSettings.resolve(config, "falls-back"));
        try {
            assertThat(fellBack.provider()).isEqualTo("cpu");
        } finally {
            fellBack.close();
        }
        assertThatThrownBy(() -> loader.load("must-have-it", file, ModelSettings.resolve(config, "must-have-it")))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("on cuda");
    }

    @Test
    void aFileOnnxRuntimeCannotReadFailsAtOnceAsTheModelsFaultNotTheGpus() {
        List<ExecutionProvider> opened = new CopyOnWriteArrayList<>();
        SessionLoader loader = new SessionLoader() {
            @Override
            ai.onnxruntime.OrtSession.SessionOptions options(ModelSettings settings, ExecutionProvider provider)
                    throws ai.onnxruntime.OrtException {
                opened.add(provider);
                return super.options(settings, ExecutionProvider.CPU); // as if the GPU's provider had been added
            }
        };
        loader.engine = engine;
        loader.probe = new GpuProbe() {
            @Override
            public Optional<String> unavailable(ExecutionProvider provider, int deviceId) {
                return Optional.empty(); // a GPU host
            }
        };
        Path file = TinyModels.write(TinyModels.newRepository("sluice-gpu-corrupt"), "bad", 1, TinyModels.corrupt());
        assertThatThrownBy(() -> loader.load("must-have-it", file, ModelSettings.resolve(config, "must-have-it")))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("ORT_INVALID_PROTOBUF")
                .hasMessageNotContaining("on cuda")
                .hasMessageNotContaining("on-gpu-unavailable");
        assertThat(opened).containsExactly(ExecutionProvider.CUDA);
        opened.clear();
        assertThatThrownBy(() -> loader.load("trt", file, ModelSettings.resolve(config, "trt")))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("ORT_INVALID_PROTOBUF");
        assertThat(opened).containsExactly(ExecutionProvider.TENSORRT); // not CUDA, then the CPU, after it
        assertThat(SessionLoader.theModelsFault(new ai.onnxruntime.OrtException(
                ai.onnxruntime.OrtException.OrtErrorCode.ORT_FAIL, "Failed to load library libonnxruntime_providers_cuda.so")))
                .isFalse(); // a provider that cannot start is the GPU's (as this host's CUDA provider gives it)
    }

    @Test
    void tensorrtStepsDownToCudaThenTheCpuOrFailsAsConfigured() {
        List<String> asked = new CopyOnWriteArrayList<>();
        SessionLoader loader = new SessionLoader();
        loader.engine = engine;
        loader.probe = new GpuProbe() {
            @Override
            public Optional<String> unavailable(ExecutionProvider provider, int deviceId) {
                asked.add(provider.label());
                return Optional.of(provider.label() + " unavailable on device " + deviceId + ": not here");
            }
        };
        Path file = TinyModels.write(TinyModels.newRepository("sluice-trt-file"), "add", 1, TinyModels.add());
        OnnxSession fellBack = loader.load("trt", file, ModelSettings.resolve(config, "trt"));
        try {
            assertThat(fellBack.provider()).isEqualTo("cpu");
            assertThat(asked).containsExactly("tensorrt", "cuda");
        } finally {
            fellBack.close();
        }
        asked.clear();
        assertThatThrownBy(() -> loader.load("trt-only", file, ModelSettings.resolve(config, "trt-only")))
                .isInstanceOf(ModelLoadException.class)
                .hasMessage("tensorrt unavailable on device 0: not here (on-gpu-unavailable=fail)");
        assertThat(asked).containsExactly("tensorrt");
    }
}
