/**
 * {@code @QuarkusIntegrationTest} suites: the {@code src/test} protocol suites run unchanged
 * against the packaged artifact, by {@code ./mvnw verify} (jar) or {@code ./mvnw verify -Dnative}, and checks
 * that only the artifact can answer, such as what its own log says of warmup.
 */
package io.sluice;
