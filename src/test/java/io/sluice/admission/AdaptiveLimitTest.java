package io.sluice.admission;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The gradient limit on its own, fed latencies directly: no clock, no threads. */
class AdaptiveLimitTest {

    private static final long MS = 1_000_000;

    /** Admits up to the limit and finishes each admitted request with {@code latency}; returns the admitted. */
    private static int round(AdaptiveLimit limit, long latency) {
        int admitted = 0;
        while (limit.tryAcquire()) {
            admitted++;
        }
        for (int i = 0; i < admitted; i++) {
            limit.succeeded(latency);
        }
        return admitted;
    }

    @Test
    void startsAtItsMinimumAndRefusesWhatIsOverTheLimit() {
        AdaptiveLimit limit = new AdaptiveLimit(2, 32, 2.0, 10);
        assertThat(limit.tryAcquire()).isTrue();
        assertThat(limit.tryAcquire()).isTrue();
        assertThat(limit.tryAcquire()).isFalse();
        assertThat(limit.inflight()).isEqualTo(2);
        limit.ignored();
        assertThat(limit.tryAcquire()).isTrue();
        assertThat(limit.limit()).isEqualTo(2);
    }

    @Test
    void aSlotTakenPastTheLimitIsCountedUntilItsRequestEnds() {
        AdaptiveLimit limit = new AdaptiveLimit(2, 32, 2.0, 10);
        assertThat(limit.tryAcquire()).isTrue();
        assertThat(limit.tryAcquire()).isTrue();
        limit.acquirePast(); // a higher level took a queued request's place; that one has not ended yet
        assertThat(limit.inflight()).isEqualTo(3);
        assertThat(limit.full()).isTrue();
        limit.ignored(); // the request whose place was taken ends
        assertThat(limit.tryAcquire()).isFalse(); // still two in flight, the limit
        limit.succeeded(1_000);
        assertThat(limit.tryAcquire()).isTrue();
        assertThat(limit.limit()).isEqualTo(2);
    }

    @Test
    void growsWhileLatencyStaysWithinTheToleranceAndStopsAtTheMaximum() {
        AdaptiveLimit limit = new AdaptiveLimit(2, 12, 2.0, 4);
        int before = limit.limit();
        for (int i = 0; i < 200; i++) {
            round(limit, 20 * MS); // no queueing at all: every request takes the no-load latency
        }
        assertThat(limit.noLoadNanos()).isEqualTo(20 * MS);
        assertThat(before).isEqualTo(2);
        assertThat(limit.limit()).isEqualTo(12);
    }

    @Test
    void lightTrafficLeavesTheLimitWhereItIs() {
        AdaptiveLimit limit = new AdaptiveLimit(4, 64, 2.0, 4);
        for (int i = 0; i < 200; i++) { // one request at a time, always at the no-load latency
            assertThat(limit.tryAcquire()).isTrue();
            limit.succeeded(20 * MS);
        }
        assertThat(limit.limit()).isEqualTo(4);
        round(limit, 20 * MS); // four at once: now the limit is being used, and it grows
        assertThat(limit.limit()).isEqualTo(4); // 4 x 0.8 + (4 + 2) x 0.2 = 4.4
        round(limit, 20 * MS);
        round(limit, 20 * MS);
        round(limit, 20 * MS);
        assertThat(limit.limit()).isEqualTo(5);
    }

    @Test
    void shrinksWhenQueueingStretchesLatencyButNeverBelowItsMinimum() {
        AdaptiveLimit limit = new AdaptiveLimit(2, 64, 2.0, 4);
        for (int i = 0; i < 200; i++) {
            round(limit, 20 * MS);
        }
        assertThat(limit.limit()).isEqualTo(64);
        for (int i = 0; i < 200; i++) {
            round(limit, 200 * MS); // ten times the no-load latency
        }
        // the gradient bottoms out at 0.5: limit = 0.5 limit + sqrt(limit) settles at 4
        assertThat(limit.limit()).isBetween(2, 4);
        assertThat(limit.noLoadNanos()).isEqualTo(20 * MS);
    }

    @Test
    void settlesWhereAServerWithFourSlotsAnswersWithinTheTolerance() {
        // a server that runs 4 requests at once in 25 ms; more in flight queue: latency = 25 ms x n / 4
        AdaptiveLimit limit = new AdaptiveLimit(1, 64, 2.0, 10);
        long latency = 25 * MS;
        for (int i = 0; i < 2000; i++) {
            int n = Math.max(1, limit.limit());
            latency = 25 * MS * Math.max(4, n) / 4;
            round(limit, latency);
        }
        // equilibrium of L = L x 2 x 4 / L + sqrt(L): L - 8 = sqrt(L), about 11.4
        assertThat(limit.limit()).isBetween(8, 14);
        assertThat(latency).isLessThanOrEqualTo(90 * MS);
        assertThat(limit.noLoadNanos()).isEqualTo(25 * MS);
    }

    @Test
    void theNoLoadLatencyIsTheFastestSingleAnswerAndOnlyFalls() {
        AdaptiveLimit limit = new AdaptiveLimit(4, 64, 2.0, 4);
        for (long latency : new long[] {50 * MS, 50 * MS, 12 * MS, 50 * MS}) {
            assertThat(limit.tryAcquire()).isTrue();
            limit.succeeded(latency);
        }
        assertThat(limit.noLoadNanos()).isEqualTo(12 * MS);
        round(limit, 300 * MS);
        assertThat(limit.noLoadNanos()).isEqualTo(12 * MS);
    }

    @Test
    void aWindowWithADropBacksOffByATenth() {
        AdaptiveLimit limit = new AdaptiveLimit(1, 64, 2.0, 1);
        for (int i = 0; i < 400; i++) {
            round(limit, 10 * MS);
        }
        assertThat(limit.limit()).isEqualTo(64);
        assertThat(limit.tryAcquire()).isTrue();
        limit.dropped();
        assertThat(limit.limit()).isEqualTo(57); // 64 x 0.9 = 57.6
        assertThat(limit.noLoadNanos()).isEqualTo(10 * MS);
    }

    @Test
    void answersTooFastForTheClockNeitherBreakNorShrinkTheLimit() {
        // a coarse clock can read 0 ns between admission and answer; 0 / 0 once made the limit NaN, read as 0
        AdaptiveLimit limit = new AdaptiveLimit(1, 8, 2.0, 1);
        for (int i = 0; i < 50; i++) {
            assertThat(limit.tryAcquire()).isTrue();
            limit.succeeded(0);
        }
        assertThat(limit.limit()).isBetween(1, 8);
        assertThat(limit.tryAcquire()).isTrue();
        limit.succeeded(5 * MS);
        assertThat(limit.limit()).isBetween(1, 8);
        assertThat(limit.tryAcquire()).isTrue();
    }

    @Test
    void rejectsSettingsThatCannotWork() {
        assertThatThrownBy(() -> new AdaptiveLimit(0, 8, 2.0, 10)).hasMessageContaining("1 <= min <= max");
        assertThatThrownBy(() -> new AdaptiveLimit(9, 8, 2.0, 10)).hasMessageContaining("1 <= min <= max");
        assertThatThrownBy(() -> new AdaptiveLimit(1, 8, 1.0, 10)).hasMessageContaining("tolerance must be > 1");
        assertThatThrownBy(() -> new AdaptiveLimit(1, 8, 2.0, 0)).hasMessageContaining("window must be >= 1");
    }
}
