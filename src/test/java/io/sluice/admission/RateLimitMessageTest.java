package io.sluice.admission;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** What a 429 says: the tenant's configured limit, and the share a fallback take drew on while Redis was away. */
class RateLimitMessageTest {

    private static final Limit LIMIT = new Limit(3, 6);

    @Test
    void aRefusalFromTheTenantsOwnBucketNamesItsLimit() {
        Take refused = Take.of(LIMIT, false, 0.5);
        assertThat(RateLimiter.overLimit("acme", LIMIT, refused, "m"))
                .isEqualTo("tenant 'acme' is over its rate limit of 3 requests/s for 'm'; retry after 167 ms");
    }

    @Test
    void aRefusalFromThisReplicasFallbackShareNamesTheLimitAndTheShare() {
        Take refused = Take.of(LIMIT.share(3), false, 0.5); // three replicas, Redis away: 1 request/s here
        assertThat(RateLimiter.overLimit("acme", LIMIT, refused, "m"))
                .isEqualTo("tenant 'acme' is over its rate limit of 3 requests/s (this replica's share while the"
                        + " buckets in Redis are unreachable: 1 requests/s) for 'm'; retry after 500 ms");
    }
}
