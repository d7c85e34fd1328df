package io.sluice;

import io.quarkus.test.junit.QuarkusIntegrationTest;

/** {@link GrpcProtocolTest}, run unchanged against the packaged artifact. */
@QuarkusIntegrationTest
class GrpcProtocolIT extends GrpcProtocolTest {}
