/**
 * {@code @QuarkusIntegrationTest} suites: the {@code src/test} protocol suites run unchanged
 * against the packaged artifact, by {@code ./mvnw verify} (jar) or {@code ./mvnw verify -Dnative}.
 */
package io.sluice;
