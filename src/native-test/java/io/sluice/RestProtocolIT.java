package io.sluice;

import io.quarkus.test.junit.QuarkusIntegrationTest;

/** The REST protocol suite, run unchanged against the packaged artifact (jar, or native binary). */
@QuarkusIntegrationTest
class RestProtocolIT extends RestProtocolTest {}
