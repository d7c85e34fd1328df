package io.sluice.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.config.SluiceConfig;
import io.sluice.fixtures.SluiceConfigs;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Keys naming a model the repository does not have are said at load: a typo there changes nothing, silently. */
class UnknownModelKeysTest {

    private static SluiceConfig config(Map<String, String> properties) {
        return SluiceConfigs.of(properties);
    }

    @Test
    void aModelsSettingsOrATenantsBucketForAModelTheRepositoryLacksIsSaid() {
        Map<String, String> keys = Map.of(
                "sluice.rate-limit.enabled", "true",
                "sluice.tenants.acme.models.\"all-minilm-l6-v2_int8\".rate", "5", // the typo
                "sluice.tenants.acme.models.\"all-minilm-l6-v2-int8\".rate", "5",
                "sluice.models.\"nope\".batching.max-batch-size", "2");

        assertThat(ModelLoader.unknownModelKeys(config(keys), Set.of("all-minilm-l6-v2-int8"))).containsExactly(
                "sluice.models.\"nope\" configures no model in the repository (a typo?)",
                "sluice.tenants.\"acme\".models.\"all-minilm-l6-v2_int8\" limits a model the repository does not have"
                        + " (a typo?); tenant acme is not limited by it");
        // with rate limiting off buckets are never read: nothing to say of them
        Map<String, String> off = new java.util.HashMap<>(keys);
        off.put("sluice.rate-limit.enabled", "false");
        assertThat(ModelLoader.unknownModelKeys(config(off), Set.of("all-minilm-l6-v2-int8", "nope"))).isEmpty();
    }

    @Test
    void aValueNotOfItsKeysTypeStopsTheStartEvenForAModelTheRepositoryLacks() {
        // README: an absent model's keys are not checked against their ranges, but every key under sluice. is read
        // into its type as the configuration is built
        assertThatThrownBy(() -> config(Map.of("sluice.models.\"nope\".batching.max-batch-size", "abc")))
                .hasMessageContaining("sluice.models.\"nope\".batching.max-batch-size");
        assertThat(config(Map.of("sluice.models.\"nope\".batching.max-batch-size", "0"))).isNotNull();
    }
}
