package io.sluice.model;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import io.sluice.Await;
import io.sluice.batching.ModelScheduler;
import io.sluice.fixtures.TinyModels;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * A tiny model whose run time is in its input's values ({@link TinyModels#countedLoop()}): its quick runs are made by
 * the event loop that received them, until one input takes it three million trips round its loop. That run is stopped
 * on the event loop once past its overrun limit, the request runs again on an instance thread and gets its answer,
 * and the model's runs stay on the instances.
 */
@QuarkusTest
@TestProfile(EventLoopOverrunTest.Profile.class)
class EventLoopOverrunTest {

    /** Trips that take the loop about a second here (a trip is some 0.3 µs), for the same 24 bytes in as one trip. */
    private static final long LONG = 3_000_000;

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Path repo = TinyModels.newRepository("sluice-overrun");
            TinyModels.write(repo, "loop", 1, TinyModels.countedLoop());
            return Map.of(
                    "sluice.repository.paths", repo.toString(),
                    "sluice.models.loop.warmup.data", "zero", // no trips
                    // the longest run an event loop may make, so that the quick runs surely are such runs (a one-trip
                    // run takes tens of microseconds); a request must then come 2 ms after the one before it
                    "sluice.models.loop.threads.event-loop-run-max-micros", "1000");
        }
    }

    @Inject
    ModelRegistry registry;

    @Test
    void aRunOnTheEventLoopThatGoesOnIsStoppedAndItsRequestAnsweredByAnInstance() {
        Await.serverReady();
        ModelScheduler scheduler = registry.ready("loop", null).scheduler();
        // one trip at a time until the model's recent runs say it is quick (warmup's first run, which made the
        // session ready for the loop, took far longer) and the event loop makes such a run itself; then, at the next
        // try, the long one. Awaitility's 100 ms between tries keeps each request apart from the one before: not load.
        // A one-trip run that a pause (GC, a busy machine) made slow leaves the estimate above the event loop's limit
        // for the long one, which an instance then runs whole: then the one-trip runs start again, until the event
        // loop takes the long one
        AtomicBoolean quick = new AtomicBoolean();
        AtomicLong callerRuns = new AtomicLong(-1);
        await().atMost(Duration.ofSeconds(120)).until(() -> {
            if (!quick.get()) {
                long before = scheduler.callerRunCount();
                assertThat(infer(1)).containsExactly(1f, 2f, 3f, 4f);
                quick.set(scheduler.callerRunCount() > before); // the event loop made it
                return false;
            }
            assertThat(scheduler.callerRunsOff()).isFalse();
            callerRuns.set(scheduler.callerRunCount());
            assertThat(infer(LONG)).containsExactly(1f, 2f, 3f, 4f);
            quick.set(false);
            return scheduler.callerRunCount() > callerRuns.get(); // the event loop took it (else an instance ran it)
        });
        assertThat(scheduler.callerRunCount()).as("the event loop took it").isEqualTo(callerRuns.get() + 1);
        assertThat(scheduler.callerRunsOff()).as("the event loop's run of it was stopped").isTrue();

        assertThat(infer(1)).containsExactly(1f, 2f, 3f, 4f); // the model serves on, on its instances
        assertThat(scheduler.callerRunCount()).isEqualTo(callerRuns.get() + 1);
        assertThat(registry.ready("loop", null).state()).isEqualTo(ModelState.READY);
    }

    private static List<Float> infer(long trips) {
        JsonPath answer = given().contentType("application/json")
                .body("{\"inputs\":[{\"name\":\"N\",\"datatype\":\"INT64\",\"shape\":[1],\"data\":[" + trips + "]},"
                        + "{\"name\":\"X\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}]}")
                .post("/v2/models/loop/infer").then().statusCode(200).extract().jsonPath();
        return answer.getList("outputs[0].data", Float.class);
    }
}
