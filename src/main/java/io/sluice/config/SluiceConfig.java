package io.sluice.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;
import java.util.List;
import java.util.Map;

/**
 * The whole configuration surface of Sluice under {@code sluice.*}. Per-model settings follow the
 * "defaults + named overrides" shape: {@code sluice.model-defaults.*} applies to every model and
 * {@code sluice.models."<name>".*} overrides single values for one model; {@link ModelSettings}
 * resolves the two.
 */
@ConfigMapping(prefix = "sluice")
public interface SluiceConfig {

    /** Where models come from. */
    Repository repository();

    /** Settings every model gets unless it overrides them. */
    @WithName("model-defaults")
    ModelConfig modelDefaults();

    /** Per-model overrides, keyed by model name. */
    Map<String, ModelConfig> models();

    /** What {@code GET /v2} reports. */
    Server server();

    /** The model repositories. */
    interface Repository {
        /** Directories laid out as {@code <model>/<version>/model.onnx}; all are served. */
        @WithDefault("target/model-repository")
        List<String> paths();
    }

    /** Server identity. */
    interface Server {
        /** The server name in {@code GET /v2}. */
        @WithDefault("sluice")
        String name();

        /** The server version in {@code GET /v2}. */
        @WithDefault("0.1.0")
        String version();
    }
}
