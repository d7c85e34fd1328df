package io.sluice.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.sluice.TinyRepositoryResource;
import io.sluice.config.ModelSettings;
import io.sluice.config.SluiceConfig;
import io.sluice.observability.Tracing;
import jakarta.inject.Inject;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Which version answers a request without one, and when the server counts a model's versions as serving:
 * a broken new version neither takes the unversioned traffic nor the whole server out.
 */
@QuarkusTest
@QuarkusTestResource(TinyRepositoryResource.class)
class ModelRegistryTest {

    @Inject
    SluiceConfig config;

    @Inject
    Tracing tracing;

    private final ModelRegistry registry = new ModelRegistry();

    private ServedModel version(String name, long version, ModelState state) {
        ServedModel m = new ServedModel(new ModelSource(name, version, Path.of(name, "" + version, "model.onnx")),
                ModelSettings.resolve(config, name), tracing);
        m.moveTo(state, state == ModelState.FAILED ? "broken" : null);
        registry.add(m);
        return m;
    }

    @Test
    void aRequestWithoutAVersionGoesToTheHighestReadyOne() {
        ServedModel v1 = version("m", 1, ModelState.READY);
        ServedModel v2 = version("m", 2, ModelState.FAILED);
        version("m", 3, ModelState.LOADING);
        assertThat(registry.find("m", null)).isSameAs(v1);
        assertThat(registry.find("m", "2")).isSameAs(v2); // asked for by number, it answers for itself
        v2.moveTo(ModelState.READY, null);
        assertThat(registry.find("m", "")).isSameAs(v2);
    }

    @Test
    void withNoVersionReadyItIsTheHighestWhichSaysWhy() {
        version("m", 1, ModelState.FAILED);
        ServedModel v2 = version("m", 2, ModelState.FAILED);
        assertThat(registry.find("m", null)).isSameAs(v2);
    }

    @Test
    void aRequiredModelServesOnceAllItsVersionsSettledAndOneIsReady() {
        assertThat(registry.requiredReady()).as("no model at all").isFalse();
        version("m", 1, ModelState.READY);
        ServedModel v2 = version("m", 2, ModelState.WARMING);
        assertThat(registry.requiredReady()).as("a version still warming").isFalse();
        v2.moveTo(ModelState.FAILED, "broken");
        assertThat(registry.requiredReady()).as("v1 serves beside the FAILED v2").isTrue();

        ServedModel other = version("other", 1, ModelState.FAILED);
        assertThat(registry.requiredReady()).as("a required model with no READY version").isFalse();
        other.moveTo(ModelState.READY, null);
        assertThat(registry.requiredReady()).isTrue();
    }

    @Test
    void aRequiredModelWithOnlyFailedVersionsIsOneOnlyARestartCanLoad() {
        ServedModel v1 = version("m", 1, ModelState.FAILED);
        ServedModel v2 = version("m", 2, ModelState.LOADING);
        version("corrupt", 1, ModelState.FAILED); // not required in this profile
        assertThat(registry.requiredFailed()).as("v2 may still load").isEmpty();
        v2.moveTo(ModelState.FAILED, "broken");
        assertThat(registry.requiredFailed()).containsExactly("m");
        v1.moveTo(ModelState.READY, null);
        assertThat(registry.requiredFailed()).as("v1 serves beside the FAILED v2").isEmpty();
    }

    @Test
    void aModelThatIsNotRequiredNeverHoldsReadinessDown() {
        version("m", 1, ModelState.READY);
        version("corrupt", 1, ModelState.FAILED); // sluice.models.corrupt.required=false in this profile
        assertThat(registry.requiredReady()).isTrue();
    }

    @Test
    void aServerOfOptionalModelsIsReadyOnceOneServes() {
        // sluice.models.corrupt/identity_uint16.required=false in this profile: nothing required, nothing serving
        ServedModel a = version("corrupt", 1, ModelState.FAILED);
        ServedModel b = version("identity_uint16", 1, ModelState.LOADING);
        assertThat(registry.requiredReady()).as("none serves: every request would be a 503").isFalse();
        b.moveTo(ModelState.READY, null);
        assertThat(registry.requiredReady()).isTrue();
        assertThat(a.state()).isEqualTo(ModelState.FAILED);
    }

    @Test
    void aModelThatIsNotRequiredNeverHoldsTheStartBackEither() {
        // the startup probe's test: an optional model still loading must not have the kubelet restart a pod
        // whose required models serve
        ServedModel m = version("m", 1, ModelState.LOADING);
        ServedModel optional = version("corrupt", 1, ModelState.LOADING);
        assertThat(registry.requiredSettled()).as("a required model still loading").isFalse();
        m.moveTo(ModelState.READY, null);
        assertThat(registry.requiredSettled()).as("only the optional one loads on").isTrue();
        assertThat(registry.requiredReady()).isTrue();
        optional.moveTo(ModelState.FAILED, "broken");
        assertThat(registry.requiredSettled()).isTrue();
    }

    @Test
    void onceTheShutdownBeginsTheServerIsNotReady() {
        version("m", 1, ModelState.READY);
        assertThat(registry.requiredReady()).isTrue();
        // SIGTERM: Quarkus's delay begins (it still serves); /v2/health/ready and ServerReady say no, as Triton
        registry.onShutdownDelay(new io.quarkus.runtime.ShutdownDelayInitiatedEvent());
        assertThat(registry.requiredReady()).isFalse();
        ModelRegistry withoutDelay = new ModelRegistry();
        withoutDelay.add(registry.find("m", "1"));
        assertThat(withoutDelay.requiredReady()).isTrue();
        withoutDelay.onShutdown(new io.quarkus.runtime.ShutdownEvent());
        assertThat(withoutDelay.requiredReady()).isFalse();
    }
}
