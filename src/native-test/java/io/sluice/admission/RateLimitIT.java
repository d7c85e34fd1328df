package io.sluice.admission;

import io.quarkus.test.junit.QuarkusIntegrationTest;

/** API keys and Redis-shared rate limits (a real redis-server), against the packaged artifact. */
@QuarkusIntegrationTest
class RateLimitIT extends RateLimitTest {}
