package io.sluice.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.sluice.config.ModelSettings;
import io.sluice.fixtures.TinyModels;
import io.sluice.runtime.OnnxSession;
import io.sluice.runtime.SessionLoader;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Alternative;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A model whose load throws an Error (here the out-of-memory error a thread that cannot be started throws)
 * fails alone: it is FAILED with the error's message, and the model loaded after it on the same loader thread
 * still becomes READY. Before, the Error ended the loader thread: the model stayed LOADING and every later one
 * was never loaded, so the server never became ready.
 */
@QuarkusTest
@TestProfile(LoaderErrorTest.Profile.class)
class LoaderErrorTest {

    static final String BROKEN = "a-out-of-memory";

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Path repo = TinyModels.newRepository("sluice-loader-error");
            TinyModels.write(repo, BROKEN, 1, TinyModels.add()); // loaded first: the repository is read in name order
            TinyModels.write(repo, "b-after", 1, TinyModels.add());
            return Map.of("sluice.repository.paths", repo.toString(),
                    "sluice.models.\"" + BROKEN + "\".required", "false",
                    "sluice.repository.load-threads", "1"); // the next model on the same thread
        }

        @Override
        public Set<Class<?>> getEnabledAlternatives() {
            return Set.of(ErrorOnLoad.class);
        }
    }

    /** The real loader, except for one model, whose load throws an Error. */
    @Alternative
    @ApplicationScoped
    public static class ErrorOnLoad extends SessionLoader {
        @Override
        public OnnxSession load(String name, Path file, ModelSettings settings) {
            if (name.equals(BROKEN)) {
                throw new OutOfMemoryError("unable to create native thread: possibly out of memory");
            }
            return super.load(name, file, settings);
        }
    }

    @Inject
    ModelRegistry registry;

    @Test
    void anErrorFailsItsModelAndTheNextModelStillLoads() {
        await().atMost(Duration.ofSeconds(60)).until(registry::settled);
        ServedModel broken = registry.find(BROKEN, "1");
        assertThat(broken.state()).isEqualTo(ModelState.FAILED);
        assertThat(broken.reason()).contains("unable to create native thread");
        assertThat(registry.find("b-after", "1").state()).isEqualTo(ModelState.READY);
        assertThat(registry.requiredReady()).isTrue();
    }
}
