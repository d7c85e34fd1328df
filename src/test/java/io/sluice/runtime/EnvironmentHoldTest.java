package io.sluice.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.sluice.fixtures.TinyModels;
import java.lang.reflect.Method;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * ONNX Runtime's shutdown hook releases the environment at the start of a shutdown, while Sluice still serves
 * and then stops its models: with the environment held, that release leaves it working.
 */
class EnvironmentHoldTest {

    @Test
    void theShutdownHooksReleaseLeavesAHeldEnvironmentWorking() throws Exception {
        OrtEnvironment environment = OrtEnvironment.getEnvironment();
        assertThat(EnvironmentHold.hold(environment)).isTrue();
        assertThat(EnvironmentHold.hold(environment)).as("taken once").isTrue();
        // the test's own reference, which the release below gives back: whatever other hold this JVM's apps took
        // (one per class loader) stays, so the environment outlives the test JVM's shutdown hook as in production
        assertThat(EnvironmentHold.take(environment)).as("the same, process-wide environment").isTrue();

        releaseAsTheShutdownHookDoes(environment);

        // without the hold: "Attempt to use DefaultLogger but none has been registered" (checked by hand)
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
                OrtSession session = environment.createSession(TinyModels.add(), options);
                OnnxTensor a = OnnxTensor.createTensor(environment, new float[][] {{1, 2, 3, 4}});
                OnnxTensor b = OnnxTensor.createTensor(environment, new float[][] {{10, 20, 30, 40}});
                OrtSession.Result result = session.run(Map.of("A", a, "B", b))) {
            assertThat((float[][]) result.get(0).getValue()).isDeepEqualTo(new float[][] {{11, 22, 33, 44}});
        }
    }

    /** What {@code OrtEnvironment$OrtEnvCloser}, the hook ONNX Runtime registers, runs. */
    private static void releaseAsTheShutdownHookDoes(OrtEnvironment environment) throws Exception {
        Method close = OrtEnvironment.class.getDeclaredMethod("close", long.class, long.class);
        close.setAccessible(true);
        close.invoke(null, EnvironmentHold.apiHandle(), EnvironmentHold.handle(environment));
    }
}
