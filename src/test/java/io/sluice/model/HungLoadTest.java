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
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A model whose session creation hangs holds back only itself: the models after it in the repository load on the
 * other loader threads and serve, and it becomes READY when its creation ends. With one loader thread, as before,
 * the next model stayed unloaded until then.
 */
@QuarkusTest
@TestProfile(HungLoadTest.Profile.class)
class HungLoadTest {

    static final String HUNG = "a-hung";
    static final CountDownLatch RELEASE = new CountDownLatch(1);

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Path repo = TinyModels.newRepository("sluice-hung-load");
            TinyModels.write(repo, HUNG, 1, TinyModels.add()); // started first: the repository is read in name order
            TinyModels.write(repo, "b-next", 1, TinyModels.add());
            TinyModels.write(repo, "c-last", 1, TinyModels.add());
            return Map.of("sluice.repository.paths", repo.toString(), "sluice.repository.load-threads", "2");
        }

        @Override
        public Set<Class<?>> getEnabledAlternatives() {
            return Set.of(HangingLoad.class);
        }
    }

    /** The real loader, except that one model's load waits until the test releases it. */
    @Alternative
    @ApplicationScoped
    public static class HangingLoad extends SessionLoader {
        @Override
        public OnnxSession load(String name, Path file, ModelSettings settings) {
            if (name.equals(HUNG)) {
                hold(RELEASE);
            }
            return super.load(name, file, settings);
        }
    }

    /** Waits, as a hung session creation, until {@code release} is counted down (two minutes at most). */
    static void hold(CountDownLatch release) {
        try {
            if (!release.await(2, TimeUnit.MINUTES)) {
                throw new IllegalStateException("never released");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    @Inject
    ModelRegistry registry;

    @Test
    void theModelsAfterAHungLoadServeWhileItHangs() {
        await().atMost(Duration.ofSeconds(60)).until(() -> registry.find("b-next", "1").state() == ModelState.READY
                && registry.find("c-last", "1").state() == ModelState.READY);
        assertThat(registry.find(HUNG, "1").state()).isEqualTo(ModelState.LOADING);
        assertThat(registry.requiredReady()).isFalse();

        RELEASE.countDown();

        await().atMost(Duration.ofSeconds(60)).until(() -> registry.find(HUNG, "1").state() == ModelState.READY);
        assertThat(registry.requiredReady()).isTrue();
    }
}
