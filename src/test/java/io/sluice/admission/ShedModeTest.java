package io.sluice.admission;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.config.ModelSettings;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The shedding switch on its own, with an injected clock and idle time: what starts it, what it admits,
 * what ends it (a window with idle instances, or one that turned away almost nothing).
 */
class ShedModeTest {

    private static final long WINDOW = ShedMode.WINDOW_NANOS;

    private final AtomicLong clock = new AtomicLong(1_000);
    private final AtomicLong idle = new AtomicLong();
    private final List<Integer> batchLimits = new ArrayList<>();
    /**
     * A capacity of 32 (2 instances x 8, 16 waiting), a queue of 2 and batches of 1
     * while shedding.
     */
    private final ShedMode mode = new ShedMode(32, new ModelSettings.Shedding(true, 2, 1), 2, clock::get,
            now -> idle.get(), batchLimits::add);

    @Test
    void aClosedLoopWithinTheBulkheadNeverStartsIt() {
        for (int held = 0; held < 32; held++) {
            assertThat(admits(held, 0)).isTrue();
            assertThat(mode.turnedAway(held)).isFalse(); // a rejection for another reason than a full bulkhead
            clock.addAndGet(WINDOW);
        }
        assertThat(mode.shedding()).isFalse();
        assertThat(mode.limit(16)).isEqualTo(32);
    }

    @Test
    void whileSheddingOnlyTheRequestsWaitingCount() {
        mode.turnedAway(32);
        assertThat(mode.shedding()).isTrue();
        assertThat(admits(31, 16)).isFalse(); // the full queue drains first
        assertThat(admits(17, 16)).isTrue(); // two long batches run, one request waits
        assertThat(admits(18, 16)).isFalse();
        assertThat(admits(9, 8)).isTrue(); // one instance finished: fed at once
        assertThat(admits(1, 0)).isTrue();
        assertThat(admits(2, 0)).isFalse();
        assertThat(mode.limit(3)).isEqualTo(5);
        assertThat(mode.limit(32)).isEqualTo(32);
    }

    @Test
    void itHoldsWhileTheInstancesAreBusy() {
        mode.turnedAway(32);
        for (int window = 0; window < 10; window++) {
            clock.addAndGet(WINDOW);
            idle.addAndGet((long) (0.1 * 2 * WINDOW)); // exactly the 10 % idle share, not above it
            assertThat(admits(4, 2)).isFalse();
        }
        assertThat(mode.shedding()).isTrue();
    }

    @Test
    void itEndsAtTheFirstArrivalAfterAWindowWithTheInstancesIdleMoreThanATenth() {
        mode.turnedAway(32);
        clock.addAndGet(WINDOW - 1);
        idle.addAndGet(2 * WINDOW); // idle, but the window is not over yet
        assertThat(admits(4, 2)).isFalse();
        clock.addAndGet(1);
        assertThat(admits(4, 2)).isTrue();
        assertThat(mode.shedding()).isFalse();
        assertThat(mode.limit(2)).isEqualTo(32);
    }

    @Test
    void anIdleModelStillFlaggedSheddingReportsItsWholeCapacityOnceTheWindowShowsTheOverloadOver() {
        mode.turnedAway(32);
        assertThat(mode.limit(2)).isEqualTo(2 + 2);
        clock.addAndGet(WINDOW);
        assertThat(mode.limit(2)).as("a busy window, no arrivals: the next arrival keeps the shedding").isEqualTo(4);
        idle.addAndGet(2 * WINDOW); // the instances waited the whole window, and nothing arrives to judge it
        assertThat(mode.limit(0)).isEqualTo(32);
        assertThat(mode.shedding()).as("ended only by an arrival").isTrue();
        assertThat(batchLimits).containsExactly(1);
        assertThat(admits(0, 0)).isTrue();
        assertThat(mode.shedding()).isFalse();
    }

    @Test
    void itEndsAfterABusyWindowThatTurnedAwayAtMostTwoPercentOfItsArrivals() {
        mode.turnedAway(32);
        arrive(98, 2); // a load the short batches just carry: the instances never idle
        clock.addAndGet(WINDOW);
        assertThat(admits(4, 2)).as("2 of 100 turned away").isTrue();
        assertThat(mode.shedding()).isFalse();
        assertThat(batchLimits).containsExactly(1, Integer.MAX_VALUE);
        assertThat(mode.limit(2)).isEqualTo(32);
    }

    @Test
    void itHoldsWhileMoreThanTwoPercentOfAWindowsArrivalsAreTurnedAway() {
        mode.turnedAway(32);
        arrive(97, 3);
        clock.addAndGet(WINDOW);
        assertThat(admits(4, 2)).as("3 of 100 turned away").isFalse();
        assertThat(mode.shedding()).isTrue();
        // that arrival opened the next window: 5 times the load the short batches carry
        arrive(20, 79);
        clock.addAndGet(WINDOW);
        assertThat(admits(1, 1)).isTrue(); // a request the queue has room for, still shedding
        assertThat(mode.shedding()).isTrue();
    }

    @Test
    void aWindowWithoutArrivalsEndsItOnlyThroughIdleTime() {
        mode.turnedAway(32);
        clock.addAndGet(3 * WINDOW); // nobody came, and the instances were busy with what was queued
        assertThat(admits(4, 2)).isFalse();
        assertThat(mode.shedding()).isTrue();
    }

    /** An arrival that finds {@code held} admitted, {@code running} running, judged and counted as ModelGuard does. */
    private boolean admits(int held, int running) {
        boolean admitted = mode.judge(held, running);
        mode.count(admitted);
        return admitted;
    }

    /** {@code admitted} arrivals the shedding queue has room for, then {@code away} it turns away. */
    private void arrive(int admitted, int away) {
        for (int i = 0; i < admitted; i++) {
            assertThat(admits(3, 2)).isTrue();
        }
        for (int i = 0; i < away; i++) {
            assertThat(admits(4, 2)).isFalse();
        }
    }

    @Test
    void batchesAreCutWhileSheddingAndTheLimitIsLiftedWhenItEnds() {
        mode.turnedAway(20); // not a full bulkhead: nothing changes
        assertThat(batchLimits).isEmpty();
        mode.turnedAway(32);
        assertThat(batchLimits).containsExactly(1);
        mode.turnedAway(32); // already shedding
        clock.addAndGet(WINDOW);
        assertThat(admits(4, 2)).isFalse(); // a busy window: still shedding
        assertThat(batchLimits).containsExactly(1);
        clock.addAndGet(WINDOW);
        idle.addAndGet(WINDOW);
        assertThat(admits(4, 2)).isTrue();
        assertThat(batchLimits).containsExactly(1, Integer.MAX_VALUE);
    }

    @Test
    void eachWindowIsJudgedOnItsOwnIdleTime() {
        idle.set(50 * WINDOW); // idle before the overload counts for nothing
        mode.turnedAway(32);
        clock.addAndGet(WINDOW);
        assertThat(admits(4, 2)).isFalse();
        clock.addAndGet(2 * WINDOW); // a window twice as long: 0.3 W idle over 2 instances x 2 W is 7.5 %
        idle.addAndGet((long) (0.15 * 2 * WINDOW));
        assertThat(admits(4, 2)).isFalse();
        clock.addAndGet(WINDOW);
        idle.addAndGet((long) (0.25 * 2 * WINDOW));
        assertThat(admits(4, 2)).isTrue();
    }

    @Test
    void turnedAwayUnderTheBulkheadWhileSheddingDoesNotRestartTheWindow() {
        assertThat(mode.turnedAway(32)).as("the overflow that starts the shedding").isTrue();
        clock.addAndGet(WINDOW / 2);
        assertThat(mode.turnedAway(4)).isFalse();
        assertThat(mode.turnedAway(32)).as("already shedding").isFalse();
        clock.addAndGet(WINDOW / 2);
        idle.addAndGet(WINDOW);
        assertThat(admits(4, 2)).isTrue();
        assertThat(mode.shedding()).isFalse();
    }
}
