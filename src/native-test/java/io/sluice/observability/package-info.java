/** Metrics suites run against the packaged artifact. */
package io.sluice.observability;
