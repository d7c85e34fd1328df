/**
 * Observability: metric names in one class ({@link io.sluice.observability.MetricNames}), tag values
 * from a fixed set each (enums such as {@link io.sluice.observability.Outcome}, or constants), and {@link io.sluice.observability.SluiceMetrics}, which records them in Micrometer
 * for Prometheus at {@code /q/metrics}, and {@link io.sluice.observability.Tracing}, Sluice's
 * OpenTelemetry spans (request, admission, queue, batch, ONNX run) and their links, and {@link
 * io.sluice.observability.VersionStatistics}, one model version's counters for Triton's statistics extension.
 */
package io.sluice.observability;
