package io.sluice;

import io.quarkus.test.junit.QuarkusIntegrationTest;

/** {@link BinaryRestTest}, run unchanged against the packaged artifact. */
@QuarkusIntegrationTest
class BinaryRestIT extends BinaryRestTest {}
