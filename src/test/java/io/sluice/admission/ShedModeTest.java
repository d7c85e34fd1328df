package io.sluice.admission;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.config.ModelSettings;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The shedding switch on its own, with an injected clock, idle time and batch times: what starts it,
 * what it admits (room in the queue, and an instance free soon enough), what ends it (a window with idle
 * instances, or one that turned away almost nothing).
 */
class ShedModeTest {

    private static final long WINDOW = ShedMode.WINDOW_NANOS;

    private final AtomicLong clock = new AtomicLong(1_000);
    private final AtomicLong idle = new AtomicLong();
    private final List<Integer> batchLimits = new ArrayList<>();
    private final List<Double> waitLimits = new ArrayList<>();
    /** When the first instance is expected to be free, on {@link #clock}. */
    private final AtomicLong freeAt = new AtomicLong();
    /** A batch of one row takes 10 ms, of two 16 ms. */
    private final ShedMode.Instances instances = new ShedMode.Instances() {
        @Override
        public int count() {
            return 2;
        }

        @Override
        public long idleNanos(long now) {
            return idle.get();
        }

        @Override
        public long nanosUntilFree(long now) {
            return Math.max(0, freeAt.get() - now);
        }

        @Override
        public long batchNanos(int rows) {
            return rows == 1 ? 10_000_000 : 16_000_000;
        }

        @Override
        public void limitBatches(int rows) {
            batchLimits.add(rows);
        }

        @Override
        public void limitWait(double share) {
            waitLimits.add(share);
        }
    };
    /**
     * A bulkhead of 33 (2 instances x 8, 16 waiting, 1 in the bulkhead), a queue of 2 and batches of 1
     * while shedding, with no limit on how long an admitted request waits for an instance.
     */
    private final ShedMode mode = new ShedMode(33, new ModelSettings.Shedding(true, 2, 1, 1), instances, clock::get);

    @Test
    void aClosedLoopWithinTheBulkheadNeverStartsIt() {
        for (int held = 0; held < 33; held++) {
            assertThat(mode.admits(held, 0)).isTrue();
            assertThat(mode.turnedAway(held)).isFalse(); // a rejection for another reason than a full bulkhead
            clock.addAndGet(WINDOW);
        }
        assertThat(mode.shedding()).isFalse();
        assertThat(mode.limit(16)).isEqualTo(33);
    }

    @Test
    void whileSheddingOnlyTheRequestsWaitingCount() {
        mode.turnedAway(33);
        assertThat(mode.shedding()).isTrue();
        assertThat(mode.admits(32, 16)).isFalse(); // the full queue drains first
        assertThat(mode.admits(17, 16)).isTrue(); // two long batches run, one request waits
        assertThat(mode.admits(18, 16)).isFalse();
        assertThat(mode.admits(9, 8)).isTrue(); // one instance finished: fed at once
        assertThat(mode.admits(1, 0)).isTrue();
        assertThat(mode.admits(2, 0)).isFalse();
        assertThat(mode.limit(3)).isEqualTo(5);
        assertThat(mode.limit(32)).isEqualTo(33);
    }

    @Test
    void itHoldsWhileTheInstancesAreBusy() {
        mode.turnedAway(33);
        for (int window = 0; window < 10; window++) {
            clock.addAndGet(WINDOW);
            idle.addAndGet((long) (0.1 * 2 * WINDOW)); // exactly the 10 % idle share, not above it
            assertThat(mode.admits(4, 2)).isFalse();
        }
        assertThat(mode.shedding()).isTrue();
    }

    @Test
    void itEndsAtTheFirstArrivalAfterAWindowWithTheInstancesIdleMoreThanATenth() {
        mode.turnedAway(33);
        clock.addAndGet(WINDOW - 1);
        idle.addAndGet(2 * WINDOW); // idle, but the window is not over yet
        assertThat(mode.admits(4, 2)).isFalse();
        clock.addAndGet(1);
        assertThat(mode.admits(4, 2)).isTrue();
        assertThat(mode.shedding()).isFalse();
        assertThat(mode.limit(2)).isEqualTo(33);
    }

    @Test
    void itEndsAfterABusyWindowThatTurnedAwayAtMostTwoPercentOfItsArrivals() {
        mode.turnedAway(33);
        arrive(98, 2); // a load the short batches just carry: the instances never idle
        clock.addAndGet(WINDOW);
        assertThat(mode.admits(4, 2)).as("2 of 100 turned away").isTrue();
        assertThat(mode.shedding()).isFalse();
        assertThat(batchLimits).containsExactly(1, Integer.MAX_VALUE);
        assertThat(mode.limit(2)).isEqualTo(33);
    }

    @Test
    void itHoldsWhileMoreThanTwoPercentOfAWindowsArrivalsAreTurnedAway() {
        mode.turnedAway(33);
        arrive(97, 3);
        clock.addAndGet(WINDOW);
        assertThat(mode.admits(4, 2)).as("3 of 100 turned away").isFalse();
        assertThat(mode.shedding()).isTrue();
        // that arrival opened the next window: 5 times the load the short batches carry
        arrive(20, 79);
        clock.addAndGet(WINDOW);
        assertThat(mode.admits(1, 1)).isTrue(); // a request the queue has room for, still shedding
        assertThat(mode.shedding()).isTrue();
    }

    @Test
    void aWindowWithoutArrivalsEndsItOnlyThroughIdleTime() {
        mode.turnedAway(33);
        clock.addAndGet(3 * WINDOW); // nobody came, and the instances were busy with what was queued
        assertThat(mode.admits(4, 2)).isFalse();
        assertThat(mode.shedding()).isTrue();
    }

    /** {@code admitted} arrivals the shedding queue has room for, then {@code away} it turns away. */
    private void arrive(int admitted, int away) {
        for (int i = 0; i < admitted; i++) {
            assertThat(mode.admits(3, 2)).isTrue();
        }
        for (int i = 0; i < away; i++) {
            assertThat(mode.admits(4, 2)).isFalse();
        }
    }

    @Test
    void batchesAreCutWhileSheddingAndTheLimitIsLiftedWhenItEnds() {
        mode.turnedAway(20); // not a full bulkhead: nothing changes
        assertThat(batchLimits).isEmpty();
        mode.turnedAway(33);
        assertThat(batchLimits).containsExactly(1);
        mode.turnedAway(33); // already shedding
        clock.addAndGet(WINDOW);
        assertThat(mode.admits(4, 2)).isFalse(); // a busy window: still shedding
        assertThat(batchLimits).containsExactly(1);
        clock.addAndGet(WINDOW);
        idle.addAndGet(WINDOW);
        assertThat(mode.admits(4, 2)).isTrue();
        assertThat(batchLimits).containsExactly(1, Integer.MAX_VALUE);
        assertThat(waitLimits).containsExactly(1.0, 1.0);
    }

    @Test
    void eachWindowIsJudgedOnItsOwnIdleTime() {
        idle.set(50 * WINDOW); // idle before the overload counts for nothing
        mode.turnedAway(33);
        clock.addAndGet(WINDOW);
        assertThat(mode.admits(4, 2)).isFalse();
        clock.addAndGet(2 * WINDOW); // a window twice as long: 0.3 W idle over 2 instances x 2 W is 7.5 %
        idle.addAndGet((long) (0.15 * 2 * WINDOW));
        assertThat(mode.admits(4, 2)).isFalse();
        clock.addAndGet(WINDOW);
        idle.addAndGet((long) (0.25 * 2 * WINDOW));
        assertThat(mode.admits(4, 2)).isTrue();
    }

    @Test
    void turnedAwayUnderTheBulkheadWhileSheddingDoesNotRestartTheWindow() {
        assertThat(mode.turnedAway(33)).as("the overflow that starts the shedding").isTrue();
        clock.addAndGet(WINDOW / 2);
        assertThat(mode.turnedAway(4)).isFalse();
        assertThat(mode.turnedAway(33)).as("already shedding").isFalse();
        clock.addAndGet(WINDOW / 2);
        idle.addAndGet(WINDOW);
        assertThat(mode.admits(4, 2)).isTrue();
        assertThat(mode.shedding()).isFalse();
    }

    @Test
    void withAWaitShareARequestIsAdmittedOnlyWhenAnInstanceIsFreeSoonEnough() {
        // batches of 2 while shedding (16 ms), and a wait of at most a quarter of one: 4 ms
        ShedMode timed = new ShedMode(33, new ModelSettings.Shedding(true, 2, 2, 0.25), instances, clock::get);
        timed.turnedAway(33);
        assertThat(batchLimits).containsExactly(2);
        assertThat(waitLimits).as("the scheduler judges it again as it queues").containsExactly(0.25);
        long now = clock.get();
        freeAt.set(now + 4_000_001);
        assertThat(timed.admits(4, 4)).as("room in the queue, but both instances busy for 4 ms more").isFalse();
        freeAt.set(now + 4_000_000);
        assertThat(timed.admits(4, 4)).isTrue();
        assertThat(timed.admits(5, 4)).as("the batch's second row").isTrue();
        assertThat(timed.admits(6, 4)).as("the queue is full").isFalse();
        freeAt.set(now - 1_000_000); // an instance running late may end any moment
        assertThat(timed.admits(5, 4)).isTrue();
        // those turned away for the wait count as turned away: a window of them keeps the shedding on
        freeAt.set(now + 10_000_000);
        for (int i = 0; i < 50; i++) {
            assertThat(timed.admits(4, 4)).isFalse();
        }
        freeAt.set(clock.addAndGet(WINDOW) + 10_000_000);
        assertThat(timed.admits(4, 4)).isFalse();
        assertThat(timed.shedding()).isTrue();
    }

    @Test
    void withoutAWaitShareTheQueueAloneDecides() {
        mode.turnedAway(33);
        freeAt.set(clock.get() + 1_000_000_000); // a whole second of work on both instances
        assertThat(mode.admits(3, 2)).isTrue();
        assertThat(mode.admits(4, 2)).isFalse();
    }
}
