package io.sluice;

import io.quarkus.test.junit.QuarkusIntegrationTest;

/** {@link ProtocolAgreementTest}, run unchanged against the packaged artifact. */
@QuarkusIntegrationTest
class ProtocolAgreementIT extends ProtocolAgreementTest {}
