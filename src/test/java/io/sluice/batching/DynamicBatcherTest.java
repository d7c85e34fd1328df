package io.sluice.batching;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.inference.Datatype;
import io.sluice.inference.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The batching decision, driven with explicit times: no threads, no sleeping. */
class DynamicBatcherTest {

    private static final long MICRO = 1_000;
    private final List<Job> expired = new ArrayList<>();

    @Test
    void aFullBatchRunsAtOnce() {
        DynamicBatcher b = batcher(4, 1000 * MICRO, List.of());
        for (int i = 0; i < 4; i++) {
            b.offer(job("s", 1, 0), 0);
        }
        assertThat(run(b.next(0, expired))).hasSize(4);
        assertThat(b.size()).isZero();
    }

    @Test
    void aPartialBatchWaitsForTheDelayThenRuns() {
        DynamicBatcher b = batcher(8, 500 * MICRO, List.of());
        b.offer(job("s", 1, 0), 100 * MICRO);
        b.offer(job("s", 1, 0), 300 * MICRO);
        assertThat(b.next(400 * MICRO, expired)).isEqualTo(new DynamicBatcher.Wait(600 * MICRO));
        assertThat(run(b.next(600 * MICRO, expired))).hasSize(2);
    }

    @Test
    void zeroDelayRunsWhateverIsQueued() {
        DynamicBatcher b = batcher(8, 0, List.of());
        b.offer(job("s", 2, 0), 0);
        b.offer(job("s", 3, 0), 0);
        List<Job> batch = run(b.next(0, expired));
        assertThat(batch.stream().mapToInt(j -> j.rows).sum()).isEqualTo(5);
    }

    @Test
    void aPreferredSizeRunsBeforeTheDelay() {
        DynamicBatcher b = batcher(8, 1000 * MICRO, List.of(2, 4));
        for (int i = 0; i < 5; i++) {
            b.offer(job("s", 1, 0), 0);
        }
        assertThat(run(b.next(1, expired))).hasSize(4);
        assertThat(b.next(2, expired)).isInstanceOf(DynamicBatcher.Wait.class);
        assertThat(run(b.next(1000 * MICRO, expired))).hasSize(1);
    }

    @Test
    void aRowLimitRunsShortBatchesAtOnceUntilItIsLifted() {
        DynamicBatcher b = batcher(8, 1000 * MICRO, List.of());
        for (int i = 0; i < 5; i++) {
            b.offer(job("s", 1, 0), 0);
        }
        b.limitRows(1);
        assertThat(b.maxBatchSize()).isEqualTo(1);
        assertThat(run(b.next(1, expired))).hasSize(1); // no waiting for company
        b.limitRows(2);
        assertThat(run(b.next(2, expired))).hasSize(2);
        b.offer(job("s", 3, 0), 3); // one request of more rows than the limit still runs, alone
        b.limitRows(1);
        assertThat(run(b.next(4, expired))).extracting(j -> j.rows).containsExactly(1);
        assertThat(run(b.next(5, expired))).extracting(j -> j.rows).containsExactly(1);
        assertThat(run(b.next(5, expired))).extracting(j -> j.rows).containsExactly(3);
        b.offer(job("s", 1, 0), 6);
        b.limitRows(Integer.MAX_VALUE); // lifted: the policy's 8 and its delay again
        assertThat(b.maxBatchSize()).isEqualTo(8);
        assertThat(b.next(7, expired)).isEqualTo(new DynamicBatcher.Wait(6 + 1000 * MICRO));
        b.limitRows(64); // never above the policy's
        assertThat(b.maxBatchSize()).isEqualTo(8);
    }

    @Test
    void rowsNeverExceedTheMaximum() {
        DynamicBatcher b = batcher(4, 0, List.of());
        Job three = job("s", 3, 0);
        Job two = job("s", 2, 0);
        b.offer(three, 0);
        b.offer(two, 0);
        assertThat(run(b.next(0, expired))).containsExactly(three);
        assertThat(run(b.next(0, expired))).containsExactly(two);
    }

    @Test
    void onlyMatchingSignaturesShareABatch() {
        DynamicBatcher b = batcher(8, 0, List.of());
        Job a1 = job("seq128", 1, 0);
        Job c1 = job("seq32", 1, 0);
        Job a2 = job("seq128", 1, 0);
        b.offer(a1, 0);
        b.offer(c1, 0);
        b.offer(a2, 0);
        assertThat(run(b.next(0, expired))).containsExactly(a1, a2);
        assertThat(run(b.next(0, expired))).containsExactly(c1);
    }

    @Test
    void fifoWithinALevelAndHigherLevelsFirst() {
        DynamicBatcher b = new DynamicBatcher(new BatchPolicy(1, 0, List.of(), 16, 3));
        Job low1 = job("s", 1, 2);
        Job high = job("s", 1, 0);
        Job low2 = job("s", 1, 2);
        Job mid = job("s", 1, 1);
        b.offer(low1, 0);
        b.offer(high, 1);
        b.offer(low2, 2);
        b.offer(mid, 3);
        assertThat(run(b.next(4, expired))).containsExactly(high);
        assertThat(run(b.next(4, expired))).containsExactly(mid);
        assertThat(run(b.next(4, expired))).containsExactly(low1);
        assertThat(run(b.next(4, expired))).containsExactly(low2);
    }

    @Test
    void fifoHoldsUnderAConstantStreamOfArrivals() {
        DynamicBatcher b = batcher(2, 0, List.of());
        List<Job> served = new ArrayList<>();
        List<Job> offered = new ArrayList<>();
        for (int t = 0; t < 100; t++) {
            for (int k = 0; k < 3 && b.size() < 16; k++) {
                Job j = job("s", 1, 0);
                offered.add(j);
                b.offer(j, t);
            }
            served.addAll(run(b.next(t, expired)));
        }
        assertThat(served).containsExactlyElementsOf(offered.subList(0, served.size()));
    }

    @Test
    void expiredJobsLeaveTheQueueAndNeverRun() {
        DynamicBatcher b = batcher(8, 0, List.of());
        Job late = job("s", 1, 0, 50);
        Job fine = job("s", 1, 0, Long.MAX_VALUE);
        b.offer(late, 0);
        b.offer(fine, 0);
        assertThat(run(b.next(60, expired))).containsExactly(fine);
        assertThat(expired).containsExactly(late);
    }

    @Test
    void anExpiredJobTheCallerCannotTakeStaysQueuedUntilItCan() {
        // the caller's list is where an expired job goes to be answered: if growing it throws (an Error, say
        // OutOfMemoryError), the job must still be in the queue, not in neither place
        DynamicBatcher b = batcher(8, 0, List.of());
        Job late = job("s", 2, 0, 50);
        b.offer(late, 0);
        List<Job> full = new ArrayList<>() {
            @Override
            public boolean add(Job job) {
                throw new OutOfMemoryError("test: the list cannot grow");
            }
        };
        assertThatThrownBy(() -> b.next(60, full))
                .isInstanceOf(OutOfMemoryError.class);
        assertThat(b.size()).isEqualTo(1);
        assertThat(b.queuedRows()).isEqualTo(2);
        assertThat(b.next(60, expired)).isInstanceOf(DynamicBatcher.Idle.class);
        assertThat(expired).containsExactly(late);
        assertThat(b.size()).isZero();
        assertThat(b.queuedRows()).isZero();
    }

    @Test
    void cancelledJobsAreDroppedBeforeBatching() {
        DynamicBatcher b = batcher(8, 0, List.of());
        Job gone = job("s", 1, 0);
        Job kept = job("s", 1, 0);
        b.offer(gone, 0);
        b.offer(kept, 0);
        assertThat(gone.cancel()).isTrue();
        assertThat(run(b.next(0, expired))).containsExactly(kept);
        assertThat(expired).isEmpty();
        assertThat(b.size()).isZero();
    }

    @Test
    void aFullQueueRejects() {
        DynamicBatcher b = new DynamicBatcher(new BatchPolicy(1, 0, List.of(), 2, 1));
        assertThat(b.offer(job("s", 1, 0), 0)).isTrue();
        assertThat(b.offer(job("s", 1, 0), 0)).isTrue();
        assertThat(b.offer(job("s", 1, 0), 0)).isFalse();
        assertThat(b.size()).isEqualTo(2);
        run(b.next(0, expired));
        assertThat(b.offer(job("s", 1, 0), 0)).isTrue();
    }

    @Test
    void outputsSplitBackToEachJobExactly() {
        Job a = job("s", 1, 0);
        Job b = job("s", 3, 0);
        Job c = job("s", 2, 0);
        ByteBuffer out = ByteBuffer.allocate(6 * 2 * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 12; i++) {
            out.putFloat(i);
        }
        Tensor y = new Tensor("Y", Datatype.FP32, new long[] {6, 2}, out.flip());
        List<List<Tensor>> split = Batches.split(List.of(a, b, c), List.of(y));
        assertThat(floats(split.get(0).get(0))).containsExactly(0, 1);
        assertThat(floats(split.get(1).get(0))).containsExactly(2, 3, 4, 5, 6, 7);
        assertThat(split.get(1).get(0).shape()).containsExactly(3, 2);
        assertThat(floats(split.get(2).get(0))).containsExactly(8, 9, 10, 11);
    }

    @Test
    void anOutputThatDoesNotLeadWithTheBatchNamesTheSettingThatFixesIt() {
        // a detection-style output: its variable first dimension counts detections, not rows
        Tensor detections = new Tensor("boxes", Datatype.FP32, new long[] {5, 4}, ByteBuffer.allocate(80));
        assertThatThrownBy(() -> Batches.split(List.of(job("s", 1, 0), job("s", 1, 0)), List.of(detections)))
                .hasMessageContaining("output 'boxes' has shape [5, 4], which does not lead with the batch of 2 rows")
                .hasMessageContaining("batching.max-batch-size=1");
    }

    @Test
    void bytesTensorsStackAndSplitByElement() {
        Job a = bytesJob("x");
        Job b = bytesJob("yy", "zzz");
        List<Tensor> stacked = Batches.stack(List.of(a, b));
        assertThat(stacked.get(0).shape()).containsExactly(3);
        List<List<Tensor>> split = Batches.split(List.of(a, b), stacked);
        assertThat(split.get(0).get(0)).isEqualTo(a.inputs.get(0));
        assertThat(split.get(1).get(0).data()).isEqualTo(b.inputs.get(0).data());
    }

    @Test
    void aJobCompletesExactlyOnce() {
        AtomicReference<Object> got = new AtomicReference<>();
        Job j = new Job(List.of(), List.of(), 1, "s", 0, Long.MAX_VALUE, null, got::set, got::set);
        assertThat(j.complete(List.of())).isTrue();
        assertThat(j.fail(new RuntimeException())).isFalse();
        assertThat(j.cancel()).isFalse();
        assertThat(got.get()).isEqualTo(List.of());
    }

    @Test
    void trimmingCutsWhatWouldRunLastAndKeepsTheOrderOfTheRest() {
        DynamicBatcher b = new DynamicBatcher(new BatchPolicy(1, 0, List.of(), 64, 2));
        Job high1 = job("s", 1, 0);
        Job low1 = job("s", 1, 1);
        Job high2 = job("s", 1, 0);
        Job low2 = job("s", 1, 1);
        Job high3 = job("s", 1, 0);
        for (Job j : List.of(high1, low1, high2, low2, high3)) {
            b.offer(j, 0);
        }
        // the lower level's newest first, then its older, then the higher level's newest
        assertThat(b.trim(2)).containsExactly(low2, low1, high3);
        assertThat(b.size()).isEqualTo(2);
        assertThat(b.trim(2)).isEmpty();
        assertThat(run(b.next(0, expired))).containsExactly(high1);
        assertThat(run(b.next(0, expired))).containsExactly(high2);
        assertThat(b.next(0, expired)).isInstanceOf(DynamicBatcher.Idle.class);
    }

    @Test
    void aCutForAHigherLevelTakesTheNewestOfTheLowestLevelBelowItAndNothingAtOrAboveIt() {
        DynamicBatcher b = new DynamicBatcher(new BatchPolicy(1, 0, List.of(), 64, 3));
        Job top = job("s", 1, 0);
        Job middle1 = job("s", 2, 1);
        Job low1 = job("s", 1, 2);
        Job middle2 = job("s", 1, 1);
        Job low2 = job("s", 3, 2);
        for (Job j : List.of(top, middle1, low1, middle2, low2)) {
            b.offer(j, 0);
        }
        assertThat(b.cutBelow(2, 0)).isNull(); // nothing is below the lowest level
        assertThat(b.cutBelow(1, 0)).isSameAs(low2);
        assertThat(b.cutBelow(0, 0)).isSameAs(low1);
        assertThat(b.cutBelow(1, 0)).isNull(); // level 1 takes no place of its own level
        assertThat(b.cutBelow(0, 0)).isSameAs(middle2);
        assertThat(b.size()).isEqualTo(2);
        assertThat(b.queuedRows()).isEqualTo(3);
        assertThat(b.cutBelow(0, 0)).isSameAs(middle1);
        assertThat(b.cutBelow(0, 0)).isNull();
        assertThat(run(b.next(0, expired))).containsExactly(top);
        assertThat(b.next(0, expired)).isInstanceOf(DynamicBatcher.Idle.class);
    }

    @Test
    void aCutPassesOverCancelledAndExpiredJobsAndLeavesThemQueued() {
        DynamicBatcher b = new DynamicBatcher(new BatchPolicy(1, 0, List.of(), 64, 2));
        Job older = job("s", 1, 1);
        Job expired = job("s", 1, 1, 100);
        Job cancelled = job("s", 1, 1);
        for (Job j : List.of(older, expired, cancelled)) {
            b.offer(j, 0);
        }
        assertThat(cancelled.cancel()).isTrue(); // its canceller takes it off the queue next
        assertThat(b.cutBelow(0, 100)).isSameAs(older);
        assertThat(b.cutBelow(0, 100)).isNull();
        assertThat(b.size()).isEqualTo(2);
        assertThat(b.cutBelow(0, 99)).isSameAs(expired); // not yet past its deadline
    }

    @Test
    void aBatchStopsBeforeItsInputsOutgrowWhatOneBufferHolds() {
        // a cap of 20 bytes standing for the 2 GiB one: jobs of 11 + 6 fit, the next 6 would not
        DynamicBatcher b = new DynamicBatcher(new BatchPolicy(8, 1000 * MICRO, List.of(), 64, 1), 20);
        Job first = bytesJob("abcdefg");
        Job second = bytesJob("ab");
        Job third = bytesJob("cd");
        b.offer(first, 0);
        b.offer(second, 0);
        b.offer(third, 0);
        // as full as it can get: runs at once, without waiting for the delay
        assertThat(run(b.next(0, expired))).containsExactly(first, second);
        assertThat(b.next(0, expired)).isEqualTo(new DynamicBatcher.Wait(1000 * MICRO));
        // a single job over the cap still runs, alone
        Job huge = bytesJob("abcdefghijklmnopqrstuvwxyz");
        b.offer(huge, 0);
        assertThat(run(b.next(1000 * MICRO, expired))).containsExactly(third);
        assertThat(run(b.next(2000 * MICRO, expired))).containsExactly(huge);
    }

    @Test
    void drainingRunsWhatIsQueuedAtOnceAndJudgesDeadlinesNow() {
        DynamicBatcher b = batcher(8, 1000 * MICRO, List.of());
        Job soon = job("s", 1, 0, 500 * MICRO); // its deadline falls inside the queue delay, not yet passed
        Job other = job("s", 1, 0);
        Job late = job("s", 1, 0, 100 * MICRO);
        b.offer(soon, 0);
        b.offer(other, 0);
        b.offer(late, 0);
        // at 200 us: what is queued runs at once, and only the job whose deadline has passed is judged out
        assertThat(run(b.nextWithoutWaiting(200 * MICRO, expired))).containsExactly(soon, other);
        assertThat(expired).containsExactly(late);
    }

    @Test
    void aBatchWaitingForCompanyRunsBeforeAJobInItWouldMissItsDeadline() {
        DynamicBatcher b = batcher(8, 5000 * MICRO, List.of());
        Job soon = job("s", 1, 0, 3000 * MICRO); // its deadline falls inside the queue delay
        b.offer(soon, 0);
        // unknown run time: a millisecond before the deadline
        assertThat(b.next(0, expired)).isEqualTo(new DynamicBatcher.Wait(2000 * MICRO));
        b.expect(1500 * MICRO, 0); // known: the run's expected time before it
        assertThat(b.next(0, expired)).isEqualTo(new DynamicBatcher.Wait(1500 * MICRO));
        Job later = job("s", 1, 0);
        b.offer(later, 100 * MICRO); // two rows now: 3 ms expected, due at once
        assertThat(run(b.next(100 * MICRO, expired))).containsExactly(soon, later);
        assertThat(expired).isEmpty();
    }

    @Test
    void aLoneJobsDeadlineAllowsForWhatItTakesAloneNotTheTimePerRowOfFullBatches() {
        // a GPU: a batch of 8 takes 8.5 ms, one row alone 8 ms (8 us per byte of its 1,000)
        DynamicBatcher b = batcher(8, 50_000 * MICRO, List.of());
        b.expect(1062 * MICRO, 8 * MICRO);
        Job lone = new Job(List.of(new Tensor("X", Datatype.FP32, new long[] {1, 250}, ByteBuffer.allocate(1000))),
                List.of(), 1, "s", 0, 20_000 * MICRO, null, r -> { }, e -> { });
        b.offer(lone, 0);
        // run by 12 ms, so its 8 ms end by its deadline (at 1.06 ms a row it would start at 18.9 ms and end at 27)
        assertThat(b.next(0, expired)).isEqualTo(new DynamicBatcher.Wait(12_000 * MICRO));
        assertThat(run(b.next(12_000 * MICRO, expired))).containsExactly(lone);
    }

    @Test
    void aReadyBatchOfAnotherSignatureRunsWhileTheHeadWaitsForCompany() {
        DynamicBatcher b = batcher(8, 1000 * MICRO, List.of());
        Job x = job("x", 1, 0);
        b.offer(x, 0);
        List<Job> ys = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            ys.add(job("y", 1, 0));
            b.offer(ys.get(i), 10 * MICRO);
        }
        assertThat(run(b.next(20 * MICRO, expired))).containsExactlyElementsOf(ys);
        assertThat(b.next(20 * MICRO, expired)).isEqualTo(new DynamicBatcher.Wait(1000 * MICRO));
        Job y = job("y", 1, 0);
        b.offer(y, 30 * MICRO);
        // neither ready: wake at the earlier delay
        assertThat(b.next(40 * MICRO, expired)).isEqualTo(new DynamicBatcher.Wait(1000 * MICRO));
        assertThat(run(b.next(1000 * MICRO, expired))).containsExactly(x);
        assertThat(b.next(1000 * MICRO, expired)).isEqualTo(new DynamicBatcher.Wait(1030 * MICRO));
    }

    @Test
    void aReadyBatchOfALowerLevelDoesNotRunAheadOfTheHeadWaitingForCompany() {
        DynamicBatcher b = new DynamicBatcher(new BatchPolicy(4, 1000 * MICRO, List.of(), 64, 2));
        Job high = job("x", 1, 0);
        b.offer(high, 0);
        List<Job> lows = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            lows.add(job("y", 1, 1));
            b.offer(lows.get(i), 0);
        }
        assertThat(b.next(10 * MICRO, expired)).isEqualTo(new DynamicBatcher.Wait(1000 * MICRO));
        assertThat(run(b.next(1000 * MICRO, expired))).containsExactly(high);
        assertThat(run(b.next(1000 * MICRO, expired))).containsExactlyElementsOf(lows);
    }

    @Test
    void aBatchThatCannotGrowRunsWithoutWaitingForTheDelay() {
        DynamicBatcher b = batcher(8, 1000 * MICRO, List.of());
        Job five = job("s", 5, 0);
        Job four = job("s", 4, 0);
        b.offer(five, 0);
        b.offer(four, 0);
        assertThat(run(b.next(0, expired))).containsExactly(five); // the four cannot join, nor anyone behind it
        assertThat(b.next(0, expired)).isEqualTo(new DynamicBatcher.Wait(1000 * MICRO));
    }

    @Test
    void lowerPriorityJobsDoNotFillABatchWhileAHigherOneOfAnotherShapeWaits() {
        DynamicBatcher b = new DynamicBatcher(new BatchPolicy(8, 0, List.of(), 64, 3));
        Job hx = job("x", 1, 0);
        Job hy = job("y", 1, 0);
        b.offer(hx, 0);
        b.offer(hy, 0);
        List<Job> lx = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            lx.add(job("x", 1, 2));
            b.offer(lx.get(i), 0);
        }
        assertThat(run(b.next(0, expired))).containsExactly(hx);
        assertThat(run(b.next(0, expired))).containsExactly(hy);
        assertThat(run(b.next(0, expired))).containsExactlyElementsOf(lx);
        // with nothing of another shape above them, lower levels fill a batch as before
        Job mid = job("x", 1, 1);
        Job low = job("x", 1, 2);
        b.offer(low, 1);
        b.offer(mid, 1);
        assertThat(run(b.next(1, expired))).containsExactly(mid, low);
    }

    @Test
    void jobsOfTheMostRowsAnIntHoldsNeverShareABatch() {
        // zero-element inputs ([2147483647, 0]) claim rows without bytes: their sum must not wrap to fit
        DynamicBatcher b = batcher(8, 0, List.of());
        b.offer(job("s", Integer.MAX_VALUE, 0), 0);
        b.offer(job("s", Integer.MAX_VALUE, 0), 0);
        assertThat(b.queuedRows()).isEqualTo(2L * Integer.MAX_VALUE);
        assertThat(run(b.next(1, expired))).hasSize(1);
        assertThat(run(b.next(1, expired))).hasSize(1);
        assertThat(b.queuedRows()).isZero();
    }

    @Test
    void aBatcherThatStoppedBatchingRunsEveryJobAloneWhateverTheRowLimit() {
        DynamicBatcher b = batcher(8, 1000 * MICRO, List.of());
        b.offer(job("s", 1, 0), 0);
        b.offer(job("s", 2, 0), 0);
        b.stopBatching();
        b.limitRows(Integer.MAX_VALUE); // a shedding that ends lifts its own limit only
        assertThat(b.maxBatchSize()).isEqualTo(1);
        assertThat(run(b.next(1, expired))).extracting(j -> j.rows).containsExactly(1);
        assertThat(run(b.next(1, expired))).extracting(j -> j.rows).containsExactly(2);
    }

    @Test
    void queuedRowsFollowEveryWayAJobLeaves() {
        DynamicBatcher b = batcher(8, 0, List.of());
        Job cancelled = job("s", 2, 0);
        b.offer(job("s", 3, 0, 10), 0); // expires at 10
        b.offer(cancelled, 0);
        b.offer(job("s", 4, 0), 0);
        b.offer(job("s", 5, 0), 0);
        assertThat(b.queuedRows()).isEqualTo(14);
        b.remove(cancelled);
        assertThat(b.queuedRows()).isEqualTo(12);
        assertThat(b.trim(2)).extracting(j -> j.rows).containsExactly(5);
        assertThat(b.queuedRows()).isEqualTo(7);
        assertThat(run(b.next(10, expired))).extracting(j -> j.rows).containsExactly(4);
        assertThat(expired).extracting(j -> j.rows).containsExactly(3);
        assertThat(b.queuedRows()).isZero();
    }

    private DynamicBatcher batcher(int max, long delay, List<Integer> preferred) {
        return new DynamicBatcher(new BatchPolicy(max, delay, preferred, 64, 1));
    }

    private List<Job> run(DynamicBatcher.Decision d) {
        assertThat(d).isInstanceOf(DynamicBatcher.Run.class);
        return ((DynamicBatcher.Run) d).jobs();
    }

    private static Job job(String signature, int rows, int level) {
        return job(signature, rows, level, Long.MAX_VALUE);
    }

    private static Job job(String signature, int rows, int level, long deadline) {
        return new Job(List.of(), List.of(), rows, signature, level, deadline, null, r -> { }, e -> { });
    }

    private static Job bytesJob(String... values) {
        int size = 0;
        for (String v : values) {
            size += 4 + v.length();
        }
        ByteBuffer data = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        for (String v : values) {
            data.putInt(v.length()).put(v.getBytes());
        }
        Tensor t = new Tensor("S", Datatype.BYTES, new long[] {values.length}, data.flip());
        return new Job(List.of(t), List.of(), values.length, "b", 0, Long.MAX_VALUE, null, r -> { }, e -> { });
    }

    private static float[] floats(Tensor t) {
        ByteBuffer d = t.view();
        float[] out = new float[d.remaining() / 4];
        for (int i = 0; i < out.length; i++) {
            out[i] = d.getFloat();
        }
        return out;
    }
}
