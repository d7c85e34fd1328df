/**
 * Observability: metric names in one class ({@link io.sluice.observability.MetricNames}), tag values
 * from enums, and {@link io.sluice.observability.SluiceMetrics}, which records them in Micrometer
 * for Prometheus at {@code /q/metrics}.
 */
package io.sluice.observability;
