package io.sluice;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.sluice.fixtures.TinyModels;
import java.nio.file.Path;
import java.util.Map;

/**
 * Writes the standard tiny-model repository into a temporary directory before Quarkus starts and
 * points {@code sluice.repository.paths} at it and at the bundled MiniLM repository.
 */
public class TinyRepositoryResource implements QuarkusTestResourceLifecycleManager {

    @Override
    public Map<String, String> start() {
        Path repo = TinyModels.newRepository("sluice-tiny-repo");
        TinyModels.writeStandard(repo);
        return Map.ofEntries(
                Map.entry("sluice.repository.paths", repo + ",target/model-repository"),
                // the corrupt fixture must not hold server readiness down
                Map.entry("sluice.models.corrupt.required", "false"),
                // the model whose run-time failures are its own: with no warmup there is no known-good input to tell
                // them from the input's (TinyModels.reshape)
                Map.entry("sluice.models.reshape.warmup.enabled", "false"),
                // ONNX Runtime's Java API cannot feed these; the models FAIL at load by design, warmup or not
                Map.entry("sluice.models.identity_uint16.required", "false"),
                Map.entry("sluice.models.identity_uint16.warmup.enabled", "false"),
                Map.entry("sluice.models.identity_uint32.required", "false"),
                Map.entry("sluice.models.identity_uint64.required", "false"),
                Map.entry("quarkus.http.limits.max-body-size", "8M"),
                // RestProtocolTest and GrpcProtocolTest send one more
                Map.entry("sluice.limits.max-bytes-elements", "32"),
                // DashboardMetricsTest needs one cached model; identity results do not change when cached
                Map.entry("sluice.models.identity_fp64.cache.enabled", "true"),
                // matmul's lone requests run on the event loop once its runs are known (TracingTest), however slow a
                // cold test JVM with tracing on makes them: every test that calls matmul takes that path too
                Map.entry("sluice.models.matmul.threads.event-loop-run-max-micros", "1000"),
                Map.entry("quarkus.grpc.server.max-inbound-message-size", Integer.toString(8 * 1024 * 1024)));
    }

    @Override
    public void stop() {}
}
