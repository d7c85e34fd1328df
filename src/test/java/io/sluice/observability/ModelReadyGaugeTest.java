package io.sluice.observability;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** {@code sluice_model_ready} exists from discovery on, and keeps one series per version when its provider changes. */
class ModelReadyGaugeTest {

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final SluiceMetrics metrics = new SluiceMetrics();

    ModelReadyGaugeTest() {
        metrics.registry = registry;
    }

    @Test
    void aVersionStillLoadingReadsZeroAndAFallbackReplacesItsProviderTag() {
        AtomicBoolean ready = new AtomicBoolean();
        metrics.modelReady("m", "1", "cuda", ready::get);
        assertThat(gauge("cuda").value()).isEqualTo(0.0);

        metrics.modelReady("m", "1", "cuda", ready::get); // the same provider: the same series
        metrics.modelReady("m", "1", "cpu", ready::get); // it fell back to the CPU
        ready.set(true);
        assertThat(registry.find(MetricNames.MODEL_READY).gauges()).hasSize(1);
        assertThat(gauge("cpu").value()).isEqualTo(1.0);
    }

    @Test
    void eachVersionHasItsOwnSeries() {
        metrics.modelReady("m", "1", "cpu", () -> true);
        metrics.modelReady("m", "2", "cpu", () -> false);
        assertThat(registry.find(MetricNames.MODEL_READY).tag(MetricNames.VERSION, "1").gauge().value()).isEqualTo(1.0);
        assertThat(registry.find(MetricNames.MODEL_READY).tag(MetricNames.VERSION, "2").gauge().value()).isEqualTo(0.0);
    }

    private Gauge gauge(String provider) {
        return registry.find(MetricNames.MODEL_READY).tag(MetricNames.PROVIDER, provider).gauge();
    }
}
