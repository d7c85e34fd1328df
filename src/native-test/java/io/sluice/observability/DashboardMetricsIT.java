package io.sluice.observability;

import io.quarkus.test.junit.QuarkusIntegrationTest;

/** The dashboard's metric names, checked against the packaged artifact's own /q/metrics. */
@QuarkusIntegrationTest
class DashboardMetricsIT extends DashboardMetricsTest {}
