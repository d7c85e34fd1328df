package io.sluice.batching;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The watch's rule for a tick that comes late; its stops are {@link CallerRunsTest}'s. */
class CallerWatchTest {

    private static final long PERIOD = TimeUnit.MILLISECONDS.toNanos(CallerWatch.TICK_MILLIS);

    @Test
    void aTickUpToTwoPeriodsAfterTheLastJudges() {
        long last = 5_000_000_000L;
        assertThat(CallerWatch.onTime(last, last + PERIOD)).isTrue();
        assertThat(CallerWatch.onTime(last, last + PERIOD + PERIOD / 2)).isTrue(); // a busy host's tick, a little late
        assertThat(CallerWatch.onTime(last, last + 2 * PERIOD)).isTrue();
    }

    @Test
    void aTickAfterAPauseOfTheWholeProcessJudgesNothing() {
        // a 100 ms collection between two ticks: a caller's run of microseconds that it caught looks 100 ms long
        long last = 5_000_000_000L;
        assertThat(CallerWatch.onTime(last, last + 2 * PERIOD + 1)).isFalse();
        assertThat(CallerWatch.onTime(last, last + TimeUnit.SECONDS.toNanos(3))).isFalse();
    }

    @Test
    void theRuleHoldsAcrossTheWrapOfNanoTime() {
        long last = Long.MAX_VALUE - PERIOD / 2; // nanoTime may be anywhere, and differences still hold
        assertThat(CallerWatch.onTime(last, last + PERIOD)).isTrue();
        assertThat(CallerWatch.onTime(last, last + 3 * PERIOD)).isFalse();
    }
}
