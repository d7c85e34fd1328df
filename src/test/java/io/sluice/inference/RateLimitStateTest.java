package io.sluice.inference;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The numbers a token bucket's state gives the IETF RateLimit and RateLimit-Policy fields. */
class RateLimitStateTest {

    @Test
    void theQuotaPerWindowStatesTheSustainedRateWhenTheBucketRefillsInUnderASecond() {
        // rate 100/s, burst 10: ten at once, but a hundred a second
        RateLimitState fast = new RateLimitState("t", 10, 100, 1, 10, Duration.ZERO);
        assertThat(fast.quota()).isEqualTo(100);
        // rate 50/s, burst 100: refills in 2 s, and its quota is the burst
        assertThat(new RateLimitState("t", 100, 50, 2, 100, Duration.ZERO).quota()).isEqualTo(100);
        // rate 3/s, burst 10: refills in 4 s, in which the rate allows 12
        assertThat(new RateLimitState("t", 10, 3, 4, 10, Duration.ZERO).quota()).isEqualTo(12);
        // rate 0.01/s, burst 2: two per 200 s
        assertThat(new RateLimitState("t", 2, 0.01, 200, 2, Duration.ZERO).quota()).isEqualTo(2);
    }

    @Test
    void resetIsTheWaitForTheNextTokenWhenNoneIsLeftElseUntilTheBucketIsFull() {
        assertThat(new RateLimitState("t", 100, 50, 2, 0, Duration.ofMillis(20)).resetSeconds()).isEqualTo(1);
        assertThat(new RateLimitState("t", 100, 50, 2, 50, Duration.ZERO).resetSeconds()).isEqualTo(1);
        assertThat(new RateLimitState("t", 100, 50, 2, 1, Duration.ZERO).resetSeconds()).isEqualTo(2);
        assertThat(new RateLimitState("t", 100, 50, 2, 100, Duration.ZERO).resetSeconds()).isZero();
        assertThat(new RateLimitState("t", 2, 0.01, 200, 1, Duration.ZERO).resetSeconds()).isEqualTo(100);
        // counted from the tokens held, fractions included: 1.99 of 3 at 0.01/s is full in 101 s, not 200
        RateLimitState partly = new RateLimitState("t", 3, 0.01, 300, 1.99, Duration.ZERO, RateLimitState.Refund.NONE);
        assertThat(partly.remaining()).isEqualTo(1);
        assertThat(partly.resetSeconds()).isEqualTo(101);
    }

    @Test
    void aWaitOfCenturiesIsNotRoundedIntoASecond() {
        // a rate of 1e-12 tokens/s: the wait saturates at Long.MAX_VALUE nanoseconds (292 years), which rounding up
        // in nanoseconds would wrap
        Duration centuries = Duration.ofNanos(Long.MAX_VALUE);
        assertThat(new RateLimitState("t", 1, 1e-12, 1, 0, centuries).retryAfterSeconds())
                .isEqualTo(Long.MAX_VALUE / 1_000_000_000L + 1);
        assertThat(new RateLimitState("t", 1, 1, 1, 0, Duration.ofMillis(1)).retryAfterSeconds()).isEqualTo(1);
        assertThat(new RateLimitState("t", 1, 1, 1, 0, Duration.ofMillis(2001)).retryAfterSeconds()).isEqualTo(3);
    }
}
