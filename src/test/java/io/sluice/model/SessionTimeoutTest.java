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
import org.junit.jupiter.api.Test;

/**
 * With {@code sluice.repository.session-timeout}, a session's creation that hangs fails its version and frees its
 * loader thread: with one loader thread (the GPU overlay's), the versions after it load instead of waiting behind it
 * for good, and the session it makes late is closed.
 */
@QuarkusTest
@TestProfile(SessionTimeoutTest.Profile.class)
class SessionTimeoutTest {

    static final String HUNG = HungLoadTest.HUNG;
    static final CountDownLatch RELEASE = new CountDownLatch(1);
    static volatile OnnxSession late;

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Path repo = TinyModels.newRepository("sluice-session-timeout");
            TinyModels.write(repo, HUNG, 1, TinyModels.add()); // started first: the repository is read in name order
            TinyModels.write(repo, "b-next", 1, TinyModels.add());
            return Map.of("sluice.repository.paths", repo.toString(), "sluice.repository.load-threads", "1",
                    "sluice.repository.session-timeout", "2s", "sluice.models.a-hung.required", "false");
        }

        @Override
        public Set<Class<?>> getEnabledAlternatives() {
            return Set.of(HangingCreation.class);
        }
    }

    /** The real loader, except that one model's session creation waits until the test releases it. */
    @Alternative
    @ApplicationScoped
    public static class HangingCreation extends SessionLoader {
        @Override
        public OnnxSession load(String name, Path file, ModelSettings settings) {
            if (name.equals(HUNG)) {
                HungLoadTest.hold(RELEASE);
                late = super.load(name, file, settings);
                return late;
            }
            return super.load(name, file, settings);
        }
    }

    @Inject
    ModelRegistry registry;

    @Test
    void aCreationPastTheTimeoutFailsItsVersionAndTheNextLoadsOnTheOnlyLoaderThread() {
        await().atMost(Duration.ofSeconds(60)).until(() -> registry.find("b-next", "1").state() == ModelState.READY);
        ServedModel hung = registry.find(HUNG, "1");
        assertThat(hung.state()).isEqualTo(ModelState.FAILED);
        assertThat(hung.reason()).contains("its session was not created within 2s (sluice.repository.session-timeout)");
        assertThat(registry.requiredReady()).isTrue(); // a-hung is optional

        RELEASE.countDown(); // the creation ends at last: its session is closed, never served
        await().atMost(Duration.ofSeconds(60)).until(() -> late != null && late.closed());
        assertThat(registry.find(HUNG, "1").state()).isEqualTo(ModelState.FAILED);
    }
}
