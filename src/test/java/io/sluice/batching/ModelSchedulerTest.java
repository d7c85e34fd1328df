package io.sluice.batching;

import static io.sluice.batching.TestJobs.batchable;
import static io.sluice.batching.TestJobs.job;
import static io.sluice.batching.TestJobs.tensor;
import static io.sluice.batching.TestJobs.value;
import static io.sluice.batching.TestJobs.waiting;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;
import static org.awaitility.Awaitility.await;

import io.sluice.inference.Datatype;
import io.sluice.inference.InferenceException;
import io.sluice.inference.Tensor;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The threaded scheduler with a fake runtime whose runs the test holds and releases. */
class ModelSchedulerTest {

    private final CountDownLatch release = new CountDownLatch(1);
    private ModelScheduler scheduler;

    @AfterEach
    void close() {
        release.countDown();
        if (scheduler != null) {
            scheduler.close();
        }
    }

    @Test
    void aFullQueueRejectsAtOnceAndEveryQueuedJobIsAnswered() throws Exception {
        CompletableFuture<List<Tensor>> running = oneHeldRun(2);
        CompletableFuture<List<Tensor>> queued1 = submit(2);
        CompletableFuture<List<Tensor>> queued2 = submit(3);
        assertThatThrownBy(() -> submit(4))
                .isInstanceOf(InferenceException.Unavailable.class)
                .hasMessageContaining("queue is full (2 waiting)");
        assertThat(scheduler.queueDepth()).isEqualTo(2);

        release.countDown();
        assertThat(value(running.get(5, TimeUnit.SECONDS))).isEqualTo(1);
        assertThat(value(queued1.get(5, TimeUnit.SECONDS))).isEqualTo(2);
        assertThat(value(queued2.get(5, TimeUnit.SECONDS))).isEqualTo(3);
        assertThat(scheduler.queueDepth()).isZero();
    }

    @Test
    void aFullQueueGivesAHigherLevelThePlaceOfTheNewestJobOfTheLowestLevelBelowIt() throws Exception {
        scheduler = holding(new BatchPolicy(1, 0, List.of(), 3, 3), System::nanoTime);
        CompletableFuture<List<Tensor>> running = submit(1, 2);
        await().atMost(Duration.ofSeconds(5)).until(() -> scheduler.inflight() == 1);
        CompletableFuture<List<Tensor>> low1 = submit(2, 2);
        CompletableFuture<List<Tensor>> middle = submit(3, 1);
        CompletableFuture<List<Tensor>> low2 = submit(4, 2);
        assertThat(scheduler.queuedBelow(0)).isTrue();
        assertThat(scheduler.queuedBelow(1)).isTrue();
        assertThat(scheduler.queuedBelow(2)).isFalse();

        // the lowest level takes no place of its own level
        assertThatThrownBy(() -> submit(5, 2)).isInstanceOf(InferenceException.Unavailable.class)
                .hasMessageContaining("queue is full (3 waiting)");
        // a higher one takes the newest lowest's place, which is answered at once
        CompletableFuture<List<Tensor>> top = submit(6, 0);
        assertThat(low2).isCompletedExceptionally();
        assertThat(low2).failsWithin(Duration.ZERO).withThrowableThat().havingCause()
                .isInstanceOfSatisfying(InferenceException.Unavailable.class, u -> {
                    assertThat(u.reason()).isEqualTo(InferenceException.Unavailable.Reason.QUEUE_FULL);
                    assertThat(u.getMessage()).isEqualTo(
                            "model 'm' queue is full: a request of a higher priority level took this one's place");
                    assertThat(u.retryAfter()).isPositive();
                });
        CompletableFuture<List<Tensor>> middle2 = submit(7, 1); // then the older of the lowest level
        assertThat(low1).isCompletedExceptionally();
        assertThatThrownBy(() -> submit(8, 1)).isInstanceOf(InferenceException.Unavailable.class)
                .hasMessageContaining("queue is full (3 waiting)");
        assertThat(scheduler.queuedBelow(0)).isTrue();
        assertThat(scheduler.queuedBelow(1)).isFalse();
        assertThat(scheduler.queueDepth()).isEqualTo(3);

        release.countDown();
        assertThat(value(running.get(5, TimeUnit.SECONDS))).isEqualTo(1);
        assertThat(value(top.get(5, TimeUnit.SECONDS))).isEqualTo(6);
        assertThat(value(middle.get(5, TimeUnit.SECONDS))).isEqualTo(3);
        assertThat(value(middle2.get(5, TimeUnit.SECONDS))).isEqualTo(7);
        assertThat(scheduler.queueDepth()).isZero();
    }

    @Test
    void makingRoomFailsTheNewestJobOfTheLowestLevelBelowTheArrivalsAndOnlyThat() throws Exception {
        scheduler = holding(new BatchPolicy(1, 0, List.of(), 8, 2), System::nanoTime);
        CompletableFuture<List<Tensor>> running = submit(1, 1);
        await().atMost(Duration.ofSeconds(5)).until(() -> scheduler.inflight() == 1);
        CompletableFuture<List<Tensor>> low1 = submit(2, 1);
        CompletableFuture<List<Tensor>> high = submit(3, 0);
        CompletableFuture<List<Tensor>> low2 = submit(4, 1);
        InferenceException.Unavailable why = new InferenceException.Unavailable(
                InferenceException.Unavailable.Reason.BULKHEAD_FULL, "taken", Duration.ofSeconds(1));
        assertThat(scheduler.makeRoom(1, () -> why)).isFalse(); // nothing below the lowest level
        assertThat(scheduler.makeRoom(0, () -> why)).isTrue();
        assertThat(low2).failsWithin(Duration.ZERO).withThrowableThat().havingCause().isSameAs(why);
        assertThat(scheduler.makeRoom(0, () -> why)).isTrue();
        assertThat(low1).failsWithin(Duration.ZERO).withThrowableThat().havingCause().isSameAs(why);
        assertThat(scheduler.makeRoom(0, () -> why)).isFalse(); // the running job is not the queue's
        assertThat(high).isNotDone();
        assertThat(scheduler.queueDepth()).isEqualTo(1);

        release.countDown();
        assertThat(value(running.get(5, TimeUnit.SECONDS))).isEqualTo(1);
        assertThat(value(high.get(5, TimeUnit.SECONDS))).isEqualTo(3);
    }

    @Test
    void withoutAClockToTellAJobPastItsDeadlineByNoPlaceIsTaken() throws Exception {
        java.util.concurrent.atomic.AtomicBoolean clockFails = new java.util.concurrent.atomic.AtomicBoolean();
        scheduler = holding(new BatchPolicy(1, 0, List.of(), 8, 2), () -> {
            if (clockFails.get()) {
                throw new IllegalStateException("no clock");
            }
            return System.nanoTime();
        });
        CompletableFuture<List<Tensor>> running = submit(1, 1);
        await().atMost(Duration.ofSeconds(5)).until(() -> scheduler.inflight() == 1);
        CompletableFuture<List<Tensor>> low = submit(2, 1);
        clockFails.set(true);
        assertThat(scheduler.makeRoom(0, () -> new InferenceException.Unavailable(
                InferenceException.Unavailable.Reason.BULKHEAD_FULL, "taken", Duration.ofSeconds(1)))).isFalse();
        assertThat(low).isNotDone();
        clockFails.set(false);

        release.countDown();
        assertThat(value(running.get(5, TimeUnit.SECONDS))).isEqualTo(1);
        assertThat(value(low.get(5, TimeUnit.SECONDS))).isEqualTo(2);
    }

    @Test
    void aJobCancelledBeforeItIsSubmittedTakesNoPlaceInTheQueue() throws Exception {
        CompletableFuture<List<Tensor>> running = oneHeldRun(1);
        CompletableFuture<List<Tensor>> gone = new CompletableFuture<>();
        Job cancelled = job(2, gone);
        scheduler.cancel(cancelled); // as a caller that went away before its emitter submitted the job
        scheduler.submit(cancelled);
        assertThat(scheduler.queueDepth()).isZero();
        CompletableFuture<List<Tensor>> queued = submit(3); // the queue's one place is still free

        release.countDown();
        assertThat(value(running.get(5, TimeUnit.SECONDS))).isEqualTo(1);
        assertThat(value(queued.get(5, TimeUnit.SECONDS))).isEqualTo(3);
        assertThat(gone).isNotDone();
    }

    @Test
    void closingFromAnInterruptedThreadWaitsForTheRunningBatch() throws Exception {
        scheduler = scheduler(1, 2, (inputs, outputs, traces) -> {
            hold(release);
            return inputs;
        });
        CompletableFuture<List<Tensor>> running = submit(7);
        await().atMost(Duration.ofSeconds(5)).until(() -> scheduler.inflight() == 1);
        // a loader interrupted during warmup closes its model: the session must not be freed under the run
        Thread closer = new Thread(() -> {
            Thread.currentThread().interrupt();
            scheduler.close();
        }, "closer");
        closer.start();
        await().atMost(Duration.ofSeconds(5)).until(() -> closer.getState() == Thread.State.TIMED_WAITING);
        assertThat(scheduler.stopped()).isFalse();
        assertThat(running).isNotDone();

        release.countDown();
        closer.join(TimeUnit.SECONDS.toMillis(5));
        assertThat(closer.isAlive()).isFalse();
        assertThat(scheduler.stopped()).isTrue();
        assertThat(value(running.get(5, TimeUnit.SECONDS))).isEqualTo(7);
    }

    @Test
    void waitingForTheInstancesToStopIsRefusedBeforeTheClose() {
        scheduler = scheduler(1, 4, (inputs, outputs, traces) -> inputs);
        assertThatThrownBy(() -> scheduler.awaitStopped(TimeUnit.MILLISECONDS.toNanos(1)))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("before close");
    }

    @Test
    void everyRequestTheTrimCutsIsAnsweredEvenWhenItsFailureCannotBeMade() throws Exception {
        CompletableFuture<List<Tensor>> running = oneHeldRun(4);
        CompletableFuture<List<Tensor>> kept = submit(2);
        List<CompletableFuture<List<Tensor>>> cut = List.of(submit(3), submit(4));
        AtomicInteger made = new AtomicInteger();
        scheduler.trimQueue(1, () -> {
            made.incrementAndGet();
            throw new OutOfMemoryError("no heap left for the failure");
        });
        assertThat(made).as("one failure made for all the cut").hasValue(1);
        for (CompletableFuture<List<Tensor>> c : cut) {
            assertThat(c).failsWithin(Duration.ofSeconds(5)).withThrowableThat().havingCause()
                    .isInstanceOf(InferenceException.Unavailable.class).withMessageContaining("overloaded");
        }
        assertThat(kept).isNotDone();
        assertThat(scheduler.queueDepth()).isEqualTo(1);
        release.countDown();
        assertThat(value(running.get(5, TimeUnit.SECONDS))).isEqualTo(1);
        assertThat(value(kept.get(5, TimeUnit.SECONDS))).isEqualTo(2);
    }

    @Test
    void aBatchThatOutlastsTheCloseBudgetCanBeWaitedForAgain() throws Exception {
        CompletableFuture<List<Tensor>> running = oneHeldRun(2);
        scheduler.close(TimeUnit.MILLISECONDS.toNanos(1));
        assertThat(scheduler.stopped()).isFalse();
        assertThat(scheduler.awaitStopped(TimeUnit.MILLISECONDS.toNanos(1))).isFalse();

        release.countDown(); // as stopping the session's runs ends the batch
        assertThat(scheduler.awaitStopped(TimeUnit.SECONDS.toNanos(5))).isTrue();
        assertThat(value(running.get(5, TimeUnit.SECONDS))).isEqualTo(1);
    }

    @Test
    void aListenerThatThrowsNeitherLosesAnAnswerNorStopsTheInstance() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        AtomicLong clock = new AtomicLong(); // the test moves it: no real time passes
        scheduler = new ModelScheduler("m", BatchPolicy.unbatched(4), 1, (inputs, outputs, traces) -> {
            if (value(inputs) == 1) {
                hold(release);
            }
            return inputs;
        }, new BatchListener() { // every meter broken
            @Override
            public void ran(int requests, int rows, long nanos) {
                calls.incrementAndGet();
                throw new IllegalStateException("a broken meter");
            }

            @Override
            public void waited(long nanos) {
                calls.incrementAndGet();
                throw new OutOfMemoryError("a meter out of memory");
            }

            @Override
            public void answered(int requests, int rows, long nanos, long waitedNanos) {
                calls.incrementAndGet();
                throw new IllegalStateException("a broken meter");
            }
        }, clock::get, Thread::new);

        CompletableFuture<List<Tensor>> held = submit(1);
        await().atMost(Duration.ofSeconds(5)).until(() -> scheduler.inflight() == 1);
        // queued behind the held run with a deadline that passes meanwhile: failed for its deadline, not lost
        long deadline = clock.get() + TimeUnit.MILLISECONDS.toNanos(50);
        CompletableFuture<List<Tensor>> late = new CompletableFuture<>();
        scheduler.submit(new Job(List.of(tensor(2)), List.of(), 1, null, 0, deadline, null, late::complete,
                late::completeExceptionally));
        clock.set(deadline + 1);
        release.countDown();

        assertThat(value(held.get(5, TimeUnit.SECONDS))).isEqualTo(1);
        assertThat(late).failsWithin(Duration.ofSeconds(5)).withThrowableThat().havingCause()
                .isInstanceOf(InferenceException.DeadlineExceeded.class);
        // and the one instance still serves, each answer given although every meter threw
        assertThat(value(submit(3).get(5, TimeUnit.SECONDS))).isEqualTo(3);
        assertThat(value(submit(4).get(5, TimeUnit.SECONDS))).isEqualTo(4);
        assertThat(calls.get()).as("the meters were asked").isGreaterThanOrEqualTo(9);
    }

    @Test
    void aSchedulerWhoseSecondThreadCannotStartEndsTheFirst() {
        List<Thread> started = new java.util.concurrent.CopyOnWriteArrayList<>();
        assertThatThrownBy(() -> new ModelScheduler("m", BatchPolicy.unbatched(4), 2, (inputs, outputs, traces) -> inputs,
                (requests, rows, nanos) -> { }, System::nanoTime, task -> {
                    if (!started.isEmpty()) {
                        throw new OutOfMemoryError("unable to create native thread: possibly out of memory");
                    }
                    Thread t = new Thread(task);
                    started.add(t);
                    return t;
                })).isInstanceOf(OutOfMemoryError.class);
        assertThat(started).hasSize(1);
        await().atMost(Duration.ofSeconds(5)).until(() -> !started.get(0).isAlive());
    }

    @Test
    void whatIsStillQueuedWhenTheCloseBudgetRunsOutIsAnswered503() throws Exception {
        CompletableFuture<List<Tensor>> running = oneHeldRun(4);
        CompletableFuture<List<Tensor>> queued1 = submit(2);
        CompletableFuture<List<Tensor>> queued2 = submit(3);
        scheduler.close(0); // the instance is still inside a long run
        for (CompletableFuture<List<Tensor>> queued : List.of(queued1, queued2)) {
            assertThat(queued).failsWithin(Duration.ofSeconds(5)).withThrowableThat().havingCause()
                    .isInstanceOf(InferenceException.Unavailable.class).withMessageContaining("shutting down");
        }
        release.countDown();
        assertThat(value(running.get(5, TimeUnit.SECONDS))).isEqualTo(1);
    }

    @Test
    void aRequestCountsAsRunningUntilItIsAnswered() throws Exception {
        release.countDown();
        scheduler = scheduler(1, 4, (inputs, outputs, traces) -> inputs);
        CompletableFuture<Integer> seen = new CompletableFuture<>();
        scheduler.submit(new Job(List.of(tensor(1)), List.of(), 1, null, 0, Long.MAX_VALUE, null,
                out -> seen.complete(scheduler.runningRequests()), seen::completeExceptionally));
        // a shedding model reads admitted-but-not-running as waiting: one being answered is not waiting
        assertThat(seen.get(5, TimeUnit.SECONDS)).isEqualTo(1);
        await().atMost(Duration.ofSeconds(5)).until(() -> scheduler.runningRequests() == 0);
    }

    @Test
    void aRequestWhoseRunFailedCountsAsRunningUntilItIsAnswered() throws Exception {
        release.countDown();
        scheduler = scheduler(1, 4, (inputs, outputs, traces) -> {
            throw new IllegalStateException("broken");
        });
        CompletableFuture<Integer> seen = new CompletableFuture<>();
        scheduler.submit(new Job(List.of(tensor(1)), List.of(), 1, null, 0, Long.MAX_VALUE, null,
                out -> seen.completeExceptionally(new AssertionError("it ran")), e -> seen.complete(scheduler.runningRequests())));
        assertThat(seen.get(5, TimeUnit.SECONDS)).isEqualTo(1);
        await().atMost(Duration.ofSeconds(5)).until(() -> scheduler.runningRequests() == 0);
    }

    @Test
    void aBatchThatFailsBeforeTheModelRunsRecordsNoRun() throws Exception {
        List<Integer> runs = new java.util.concurrent.CopyOnWriteArrayList<>();
        scheduler = new ModelScheduler("m", new BatchPolicy(8, 0, List.of(), 16, 1), 1, (inputs, outputs, traces) -> {
            hold(release);
            return inputs;
        }, (requests, rows, nanos) -> runs.add(rows), System::nanoTime, Thread::new);
        CompletableFuture<List<Tensor>> first = new CompletableFuture<>();
        scheduler.submit(new Job(List.of(tensor(1)), List.of(), 1, "s", 0, Long.MAX_VALUE, null, first::complete,
                first::completeExceptionally));
        await().atMost(Duration.ofSeconds(5)).until(() -> scheduler.inflight() == 1);
        // the same signature, but one has no input: the batch cannot be stacked
        CompletableFuture<List<Tensor>> a = new CompletableFuture<>();
        CompletableFuture<List<Tensor>> b = new CompletableFuture<>();
        scheduler.submit(new Job(List.of(tensor(2)), List.of(), 1, "s", 0, Long.MAX_VALUE, null, a::complete,
                a::completeExceptionally));
        scheduler.submit(new Job(List.of(), List.of(), 1, "s", 0, Long.MAX_VALUE, null, b::complete,
                b::completeExceptionally));
        release.countDown();
        first.get(5, TimeUnit.SECONDS);
        assertThat(b).failsWithin(Duration.ofSeconds(5));
        assertThat(a).failsWithin(Duration.ofSeconds(5));
        assertThat(runs).containsExactly(1); // the model ran once; the batch that never reached it is not a run
    }

    @Test
    void aFailingRunFailsOnlyItsOwnJobAndTheModelKeepsServing() throws Exception {
        release.countDown();
        scheduler = scheduler(1, 8, (inputs, outputs, traces) -> {
            if (value(inputs) == 13) {
                throw new IllegalStateException("unlucky input");
            }
            return inputs;
        });
        CompletableFuture<List<Tensor>> bad = submit(13);
        assertThat(bad).failsWithin(Duration.ofSeconds(5)).withThrowableThat()
                .havingCause().isInstanceOf(InferenceException.RuntimeFailure.class)
                .withMessageContaining("model 'm' failed: unlucky input");
        assertThat(value(submit(14).get(5, TimeUnit.SECONDS))).isEqualTo(14);
    }

    @Test
    void aCallerWhoseCallbackThrowsDoesNotStopTheInstance() throws Exception {
        release.countDown();
        scheduler = scheduler(1, 8, (inputs, outputs, traces) -> inputs);
        CompletableFuture<Boolean> reached = new CompletableFuture<>();
        scheduler.submit(new Job(List.of(tensor(1)), List.of(), 1, null, 0, Long.MAX_VALUE, null, out -> {
            reached.complete(true);
            throw new IllegalStateException("a broken caller");
        }, e -> { }));
        assertThat(reached.get(5, TimeUnit.SECONDS)).isTrue();
        // the only instance lives on and serves the next job
        assertThat(value(submit(2).get(5, TimeUnit.SECONDS))).isEqualTo(2);
        assertThat(scheduler.inflight()).isZero();
    }

    @Test
    void aCancelledJobLeavesTheQueueAndNeverRuns() throws Exception {
        int[] runs = {0};
        scheduler = scheduler(1, 8, (inputs, outputs, traces) -> {
            runs[0]++;
            hold(release);
            return inputs;
        });
        CompletableFuture<List<Tensor>> running = submit(1);
        await().atMost(Duration.ofSeconds(5)).until(() -> scheduler.inflight() == 1);
        Job cancelled = job(2, new CompletableFuture<>());
        scheduler.submit(cancelled);
        scheduler.cancel(cancelled);
        assertThat(scheduler.queueDepth()).isZero();
        release.countDown();
        running.get(5, TimeUnit.SECONDS);
        assertThat(value(submit(3).get(5, TimeUnit.SECONDS))).isEqualTo(3);
        assertThat(runs[0]).isEqualTo(2);
    }

    @Test
    void aRequestWhoseDeadlinePassesInTheQueueHasItsWaitRecordedToo() throws Exception {
        AtomicLong clock = new AtomicLong(1_000);
        List<Long> waits = new java.util.concurrent.CopyOnWriteArrayList<>();
        scheduler = new ModelScheduler("m", BatchPolicy.unbatched(4), 1, (inputs, outputs, traces) -> {
            hold(release);
            return inputs;
        }, new BatchListener() {
            @Override
            public void ran(int requests, int rows, long nanos) { }

            @Override
            public void waited(long nanos) {
                waits.add(nanos);
            }
        }, clock::get, Thread::new);
        CompletableFuture<List<Tensor>> first = new CompletableFuture<>();
        scheduler.submit(job(1, first));
        await().atMost(Duration.ofSeconds(5)).until(() -> scheduler.runningRequests() == 1);
        CompletableFuture<List<Tensor>> late = new CompletableFuture<>();
        scheduler.submit(new Job(List.of(tensor(2)), List.of(), 1, null, 0, 5_000, null, late::complete,
                late::completeExceptionally));
        clock.set(10_000); // its deadline (5,000) passes while the only instance is busy

        release.countDown();
        assertThatThrownBy(() -> late.get(5, TimeUnit.SECONDS)).hasCauseInstanceOf(InferenceException.DeadlineExceeded.class);
        // the longest waits are the ones that ran out: the queue-wait histogram must not leave them out
        assertThat(waits).containsExactly(0L, 9_000L);
    }

    @Test
    void onlyABatchThatAnsweredIsReportedAnsweredWithItsRequestsWaits() throws Exception {
        AtomicLong clock = new AtomicLong(1_000);
        List<long[]> answered = new java.util.concurrent.CopyOnWriteArrayList<>();
        scheduler = new ModelScheduler("m", BatchPolicy.unbatched(4), 1, (inputs, outputs, traces) -> {
            if (value(inputs) == 99) {
                throw new InferenceException.RuntimeFailure("broken row", null);
            }
            clock.addAndGet(50); // the run takes 50 ns
            return inputs;
        }, new BatchListener() {
            @Override
            public void ran(int requests, int rows, long nanos) { }

            @Override
            public void answered(int requests, int rows, long nanos, long waitedNanos) {
                answered.add(new long[] {requests, rows, nanos, waitedNanos});
            }
        }, clock::get, Thread::new);
        CompletableFuture<List<Tensor>> ok = submit(1);
        assertThat(value(ok.get(5, TimeUnit.SECONDS))).isEqualTo(1);
        CompletableFuture<List<Tensor>> broken = submit(99);
        assertThatThrownBy(() -> broken.get(5, TimeUnit.SECONDS)).hasCauseInstanceOf(InferenceException.RuntimeFailure.class);
        CompletableFuture<List<Tensor>> last = submit(3);
        assertThat(value(last.get(5, TimeUnit.SECONDS))).isEqualTo(3);
        assertThat(answered).extracting(a -> a[0], a -> a[1], a -> a[2], a -> a[3])
                .containsExactly(tuple(1L, 1L, 50L, 0L), tuple(1L, 1L, 50L, 0L));
    }

    @Test
    void itCountsTheInstancesIdleTimeAndTheRequestsRunning() throws Exception {
        AtomicLong clock = new AtomicLong(1_000);
        scheduler = new ModelScheduler("m", BatchPolicy.unbatched(4), 2, (inputs, outputs, traces) -> {
            hold(release);
            return inputs;
        }, (requests, rows, nanos) -> { }, clock::get, Thread::new);
        // both instances wait from the moment they start: each nanosecond adds two of idle time
        await().atMost(Duration.ofSeconds(5)).until(() -> waiting(scheduler, clock.get()) == 2);
        long before = scheduler.idleNanos(clock.get());
        clock.addAndGet(300);
        assertThat(scheduler.idleNanos(clock.get())).isEqualTo(before + 600);

        CompletableFuture<List<Tensor>> running = submit(1);
        await().atMost(Duration.ofSeconds(5))
                .until(() -> scheduler.runningRequests() == 1 && waiting(scheduler, clock.get()) == 1);
        long busyFrom = scheduler.idleNanos(clock.get());
        clock.addAndGet(1_000); // one instance runs, one waits
        assertThat(scheduler.idleNanos(clock.get())).isEqualTo(busyFrom + 1_000);

        release.countDown();
        assertThat(value(running.get(5, TimeUnit.SECONDS))).isEqualTo(1);
        await().atMost(Duration.ofSeconds(5))
                .until(() -> scheduler.runningRequests() == 0 && waiting(scheduler, clock.get()) == 2);
        assertThat(scheduler.inflight()).isZero();
    }

    @Test
    void aBatchLimitWakesAnInstanceWaitingForAFullerBatch() throws Exception {
        List<Integer> rows = new java.util.concurrent.CopyOnWriteArrayList<>();
        scheduler = new ModelScheduler("m", new BatchPolicy(8, TimeUnit.HOURS.toNanos(1), List.of(), 16, 1), 1,
                (inputs, outputs, traces) -> inputs, (requests, r, nanos) -> rows.add(r), System::nanoTime, Thread::new);
        CompletableFuture<List<Tensor>> first = new CompletableFuture<>();
        CompletableFuture<List<Tensor>> second = new CompletableFuture<>();
        scheduler.submit(batchable(1, first));
        scheduler.submit(batchable(2, second));
        // two of eight rows: the instance waits an hour for company
        await().atMost(Duration.ofSeconds(5)).until(() -> waiting(scheduler, System.nanoTime()) == 1);
        assertThat(scheduler.queueDepth()).isEqualTo(2);

        scheduler.limitBatches(1);
        assertThat(value(first.get(5, TimeUnit.SECONDS))).isEqualTo(1);
        assertThat(value(second.get(5, TimeUnit.SECONDS))).isEqualTo(2);
        assertThat(rows).containsExactly(1, 1);

        scheduler.limitBatches(Integer.MAX_VALUE); // lifted: a lone request waits for company again
        scheduler.submit(batchable(3, new CompletableFuture<>()));
        await().atMost(Duration.ofSeconds(5)).until(() -> waiting(scheduler, System.nanoTime()) == 1);
        assertThat(scheduler.queueDepth()).isEqualTo(1);
        assertThat(rows).containsExactly(1, 1);
    }

    @Test
    void aRequestTheModelRefusesFailsAloneAndItsBatchMatesAreAnswered() throws Exception {
        List<Integer> rows = new java.util.concurrent.CopyOnWriteArrayList<>();
        // a model that refuses the value -1 anywhere in its input, as ONNX Runtime refuses a token id past
        // the vocabulary; batches of 3, which wait an hour for company
        scheduler = new ModelScheduler("m", new BatchPolicy(3, TimeUnit.HOURS.toNanos(1), List.of(), 16, 1), 1,
                (inputs, outputs, traces) -> {
                    ByteBuffer data = inputs.get(0).data();
                    for (int i = 0; i < data.remaining() / 4; i++) {
                        if (data.getInt(data.position() + 4 * i) == -1) {
                            throw new InferenceException.InvalidInput("the model refused the input");
                        }
                    }
                    return inputs;
                }, (requests, r, nanos) -> rows.add(r), System::nanoTime, Thread::new);
        CompletableFuture<List<Tensor>> first = new CompletableFuture<>();
        CompletableFuture<List<Tensor>> poisoned = new CompletableFuture<>();
        CompletableFuture<List<Tensor>> third = new CompletableFuture<>();
        CompletableFuture<Integer> runningAtThird = new CompletableFuture<>();
        scheduler.submit(batchable(1, first));
        scheduler.submit(batchable(-1, poisoned));
        scheduler.submit(new Job(List.of(tensor(3)), List.of(), 1, "X:INT32", 0, Long.MAX_VALUE, null, out -> {
            runningAtThird.complete(scheduler.runningRequests());
            third.complete(out);
        }, third::completeExceptionally));
        assertThat(value(first.get(5, TimeUnit.SECONDS))).isEqualTo(1);
        assertThat(value(third.get(5, TimeUnit.SECONDS))).isEqualTo(3);
        // the two answered before it no longer count as running: their permits are back, their wait is over
        assertThat(runningAtThird.get(5, TimeUnit.SECONDS)).isEqualTo(1);
        assertThat(poisoned).failsWithin(Duration.ofSeconds(5)).withThrowableThat().havingCause()
                .isInstanceOf(InferenceException.InvalidInput.class).withMessageContaining("refused the input");
        // the batch of three failed, then each of its requests ran alone
        assertThat(rows).containsExactly(3, 1, 1, 1);
    }

    @Test
    void aRuntimeFailureFailsTheWholeBatchWithoutRunningItAgain() throws Exception {
        List<Integer> rows = new java.util.concurrent.CopyOnWriteArrayList<>();
        scheduler = new ModelScheduler("m", new BatchPolicy(2, TimeUnit.HOURS.toNanos(1), List.of(), 16, 1), 1,
                (inputs, outputs, traces) -> {
                    throw new InferenceException.RuntimeFailure("the GPU fell over", null);
                }, (requests, r, nanos) -> rows.add(r), System::nanoTime, Thread::new);
        CompletableFuture<List<Tensor>> first = new CompletableFuture<>();
        CompletableFuture<List<Tensor>> second = new CompletableFuture<>();
        scheduler.submit(batchable(1, first));
        scheduler.submit(batchable(2, second));
        for (CompletableFuture<List<Tensor>> f : List.of(first, second)) {
            assertThat(f).failsWithin(Duration.ofSeconds(5)).withThrowableThat().havingCause()
                    .isInstanceOf(InferenceException.RuntimeFailure.class).withMessageContaining("the GPU fell over");
        }
        assertThat(rows).containsExactly(2); // one run: a failing runtime is not asked again row by row
    }

    @Test
    void aRuntimeFailureOnAModelThatStillRunsItsKnownGoodInputIsTheInputsAndFailsItAlone() throws Exception {
        List<Integer> rows = new java.util.concurrent.CopyOnWriteArrayList<>();
        AtomicInteger probes = new AtomicInteger();
        // a model that fails at run time on the value -1 (as MiniLM's Add node fails on more than 512 tokens), and
        // runs anything else
        scheduler = new ModelScheduler("m", new BatchPolicy(3, TimeUnit.HOURS.toNanos(1), List.of(), 16, 1), 1,
                (inputs, outputs, traces) -> {
                    ByteBuffer data = inputs.get(0).data();
                    for (int i = 0; i < data.remaining() / 4; i++) {
                        int v = data.getInt(data.position() + 4 * i);
                        if (v == 7) {
                            probes.incrementAndGet();
                        }
                        if (v == -1) {
                            // as OnnxSession words a kernel's failure that may be the input's
                            throw new InferenceException.RuntimeFailure("ONNX Runtime failed: ORT_RUNTIME_EXCEPTION", null,
                                    true);
                        }
                    }
                    return inputs;
                }, (requests, r, nanos) -> rows.add(r), System::nanoTime, Thread::new);
        scheduler.knownGood(List.of(tensor(7)));
        CompletableFuture<List<Tensor>> first = new CompletableFuture<>();
        CompletableFuture<List<Tensor>> poisoned = new CompletableFuture<>();
        CompletableFuture<List<Tensor>> third = new CompletableFuture<>();
        scheduler.submit(batchable(1, first));
        scheduler.submit(batchable(-1, poisoned));
        scheduler.submit(batchable(3, third));

        assertThat(value(first.get(5, TimeUnit.SECONDS))).isEqualTo(1);
        assertThat(value(third.get(5, TimeUnit.SECONDS))).isEqualTo(3);
        // 400 / INVALID_ARGUMENT, which the circuit breaker does not count
        assertThat(poisoned).failsWithin(Duration.ofSeconds(5)).withThrowableThat().havingCause()
                .isInstanceOf(InferenceException.InvalidInput.class)
                .withMessage("model 'm' could not run this input, though it runs its warmup input: ONNX Runtime failed: "
                        + "ORT_RUNTIME_EXCEPTION");
        // the batch of three failed, the known-good input ran (not counted as a batch), then each request alone
        assertThat(rows).containsExactly(3, 1, 1, 1);
        assertThat(probes).hasValue(1);

        // alone, the same: one probe, the request again alone, and a 400
        rows.clear();
        CompletableFuture<List<Tensor>> again = new CompletableFuture<>();
        scheduler.submit(job(-1, again));
        assertThat(again).failsWithin(Duration.ofSeconds(5)).withThrowableThat().havingCause()
                .isInstanceOf(InferenceException.InvalidInput.class);
        assertThat(probes).hasValue(2);
        assertThat(rows).containsExactly(1, 1);
    }

    @Test
    void aKernelFailureThatDoesNotComeAgainWhenTheRequestRunsAloneIsAnsweredByThatRun() throws Exception {
        AtomicInteger failures = new AtomicInteger(1);
        List<Integer> ran = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        scheduler = new ModelScheduler("m", BatchPolicy.unbatched(16), 1, (inputs, outputs, traces) -> {
            int first = inputs.get(0).data().getInt(inputs.get(0).data().position());
            ran.add(first);
            if (first == 5 && failures.getAndDecrement() > 0) {
                throw new InferenceException.RuntimeFailure("ONNX Runtime failed: once", null, true);
            }
            return inputs;
        }, (requests, r, nanos) -> { }, System::nanoTime, Thread::new);
        scheduler.knownGood(List.of(tensor(7)));

        assertThat(value(submit(5).get(5, TimeUnit.SECONDS))).isEqualTo(5);
        // it failed once, then the known-good input ran (the model is sound), then the request alone, which answered
        assertThat(ran).containsExactly(5, 7, 5);
    }

    @Test
    void aRequestWhoseRunAloneFailsOnMemoryIsAnsweredAsTheModelsFailure() throws Exception {
        AtomicInteger runs = new AtomicInteger();
        // a kernel's failure first, then, run alone, an allocation failure: that one is the model's to answer
        scheduler = new ModelScheduler("m", BatchPolicy.unbatched(16), 1, (inputs, outputs, traces) -> {
            int run = runs.incrementAndGet();
            if (inputs.get(0).data().getInt(inputs.get(0).data().position()) == 7) {
                return inputs; // the known-good input
            }
            throw run == 1 ? new InferenceException.RuntimeFailure("ONNX Runtime failed: a kernel", null, true)
                    : new InferenceException.RuntimeFailure("ONNX Runtime failed: Failed to allocate memory", null, false);
        }, (requests, r, nanos) -> { }, System::nanoTime, Thread::new);
        scheduler.knownGood(List.of(tensor(7)));

        assertThat(submit(5)).failsWithin(Duration.ofSeconds(5)).withThrowableThat().havingCause()
                .isInstanceOf(InferenceException.RuntimeFailure.class).withMessageContaining("Failed to allocate memory");
        assertThat(runs).hasValue(3); // the request, the known-good input, the request alone
    }

    @Test
    void aRuntimeFailureOfResourcesIsTheModelsWithoutAProbe() throws Exception {
        // OnnxSession marks an allocation or device failure as not the input's
        AtomicInteger runs = alwaysFailing("ONNX Runtime failed: Failed to allocate memory", false);

        assertThat(submit(5)).failsWithin(Duration.ofSeconds(5)).withThrowableThat().havingCause()
                .isInstanceOf(InferenceException.RuntimeFailure.class);
        assertThat(runs).hasValue(1);
    }

    @Test
    void aRuntimeFailureOnAModelThatFailsItsKnownGoodInputTooIsTheModels() throws Exception {
        AtomicInteger runs = alwaysFailing("the kernel failed", true);

        assertThat(submit(1)).failsWithin(Duration.ofSeconds(5)).withThrowableThat().havingCause()
                .isInstanceOf(InferenceException.RuntimeFailure.class).withMessageContaining("the kernel failed");
        assertThat(runs).hasValue(2); // the request, then the known-good input, which failed too
    }

    /** One instance whose every run fails so, with a known-good input; counts the runs. */
    private AtomicInteger alwaysFailing(String message, boolean mayBeTheInput) {
        AtomicInteger runs = new AtomicInteger();
        scheduler = new ModelScheduler("m", BatchPolicy.unbatched(16), 1, (inputs, outputs, traces) -> {
            runs.incrementAndGet();
            throw new InferenceException.RuntimeFailure(message, null, mayBeTheInput);
        }, (requests, r, nanos) -> { }, System::nanoTime, Thread::new);
        scheduler.knownGood(List.of(tensor(7)));
        return runs;
    }

    @Test
    void aModelWhoseOutputsDoNotLeadWithTheBatchAnswersItsRequestsAloneAndBatchesNoMore() throws Exception {
        List<Integer> rows = new java.util.concurrent.CopyOnWriteArrayList<>();
        // five detections whatever the rows: warmup (off here) would have failed the model
        scheduler = new ModelScheduler("m", new BatchPolicy(2, TimeUnit.HOURS.toNanos(1), List.of(), 16, 1), 1,
                (inputs, outputs, traces) -> List.of(new Tensor("boxes", Datatype.INT32, new long[] {5},
                        ByteBuffer.allocate(20).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(0, inputs.get(0).data().getInt(0)))),
                (requests, r, nanos) -> rows.add(r), System::nanoTime, Thread::new);
        List<CompletableFuture<List<Tensor>>> answers = new java.util.ArrayList<>();
        for (int v = 1; v <= 4; v++) {
            CompletableFuture<List<Tensor>> answer = new CompletableFuture<>();
            answers.add(answer);
            scheduler.submit(batchable(v, answer));
            if (v == 2) {
                await().atMost(Duration.ofSeconds(5)).until(() -> rows.size() == 3);
            }
        }
        for (int v = 1; v <= 4; v++) {
            assertThat(answers.get(v - 1).get(5, TimeUnit.SECONDS).get(0).shape()).containsExactly(5);
        }
        assertThat(value(answers.get(1).get())).isEqualTo(2); // each its own run's answer
        // the batch of two failed and ran again row by row; the next two, which would have waited an hour for a
        // batch, run alone at once
        assertThat(rows).containsExactly(2, 1, 1, 1, 1);
        scheduler.limitBatches(Integer.MAX_VALUE); // the end of a shedding does not bring batches back
        CompletableFuture<List<Tensor>> fifth = new CompletableFuture<>();
        scheduler.submit(batchable(5, fifth));
        assertThat(value(fifth.get(5, TimeUnit.SECONDS))).isEqualTo(5);
    }

    @Test
    void aRunningRequestWhoseCallerLeftNoLongerCountsAsRunning() throws Exception {
        scheduler = scheduler(1, 4, (inputs, outputs, traces) -> {
            hold(release);
            return inputs;
        });
        CompletableFuture<List<Tensor>> result = new CompletableFuture<>();
        Job job = job(1, result);
        scheduler.submit(job);
        await().atMost(Duration.ofSeconds(5)).until(() -> scheduler.runningRequests() == 1);
        // its deadline passed, or its client went: the permit is back, so a shedding model must not count it
        // as running, or it would read one more request as waiting than there is
        scheduler.cancel(job);
        assertThat(scheduler.runningRequests()).isZero();
        release.countDown();
        CompletableFuture<List<Tensor>> next = submit(2);
        assertThat(value(next.get(5, TimeUnit.SECONDS))).isEqualTo(2);
        // back to waiting for work, so past the end of the cancelled job's batch and of the next one
        await().atMost(Duration.ofSeconds(5)).until(() -> waiting(scheduler, System.nanoTime()) == 1);
        assertThat(scheduler.runningRequests()).isZero(); // never below: the batch's end does not count it again
        assertThat(result).isNotDone();
    }

    @Test
    void aCancelWakesAnInstanceWhoseWaitTheCancelledJobSet() throws Exception {
        AtomicLong now = new AtomicLong();
        AtomicInteger looks = new AtomicInteger(); // the instance's decisions: each reads the clock, under the lock
        java.util.function.LongSupplier clock = () -> {
            if (Thread.currentThread().getName().equals("instance")) {
                looks.incrementAndGet();
            }
            return now.get();
        };
        scheduler = new ModelScheduler("m", new BatchPolicy(4, TimeUnit.HOURS.toNanos(1), List.of(), 16, 2), 1,
                (inputs, outputs, traces) -> inputs, (requests, r, nanos) -> { }, clock, task -> new Thread(task, "instance"));
        CompletableFuture<List<Tensor>> low = new CompletableFuture<>();
        scheduler.submit(new Job(List.of(tensor(1)), List.of(), 1, "X:INT32", 1, Long.MAX_VALUE, null, low::complete,
                low::completeExceptionally));
        await().atMost(Duration.ofSeconds(5)).until(() -> waiting(scheduler, now.get()) == 1);
        now.set(TimeUnit.HOURS.toNanos(2)); // the low job is past its delay, but its instance sleeps an hour
        CompletableFuture<List<Tensor>> high = new CompletableFuture<>();
        Job head = new Job(List.of(tensor(2)), List.of(), 1, "X:INT32", 0, Long.MAX_VALUE, null, high::complete,
                high::completeExceptionally);
        int before = looks.get();
        scheduler.submit(head); // a higher level waiting for company holds the low one back, for an hour more
        // the instance has looked at the head; the cancel takes the lock only once it sleeps again
        await().atMost(Duration.ofSeconds(5)).until(() -> looks.get() > before);
        scheduler.cancel(head);
        assertThat(value(low.get(5, TimeUnit.SECONDS))).isEqualTo(1);
        assertThat(high).isNotDone();
    }

    @Test
    void aBatchReadyBehindOneThatCouldNotGrowRunsOnTheOtherInstanceAtOnce() throws Exception {
        AtomicLong now = new AtomicLong(); // frozen: no due time passes
        AtomicInteger looks = new AtomicInteger(); // the instances' decisions: each reads the clock, under the lock
        java.util.function.LongSupplier clock = () -> {
            if (Thread.currentThread().getName().equals("instance")) {
                looks.incrementAndGet();
            }
            return now.get();
        };
        scheduler = new ModelScheduler("m", new BatchPolicy(8, TimeUnit.HOURS.toNanos(1), List.of(), 16, 1), 2,
                (inputs, outputs, traces) -> {
                    if (inputs.get(0).shape()[0] == 1) {
                        hold(release); // the lone row's run holds its instance
                    }
                    return inputs;
                }, (requests, r, nanos) -> { }, clock, task -> new Thread(task, "instance"));
        await().atMost(Duration.ofSeconds(5)).until(() -> waiting(scheduler, now.get()) == 2);
        CompletableFuture<List<Tensor>> lone = new CompletableFuture<>();
        int before = looks.get();
        scheduler.submit(new Job(List.of(rows(1)), List.of(), 1, "X:INT32", 0, Long.MAX_VALUE, null, lone::complete,
                lone::completeExceptionally));
        // one instance has looked at it and sleeps until its hour is up; the next submit takes the lock after that
        await().atMost(Duration.ofSeconds(5)).until(() -> looks.get() > before);
        CompletableFuture<List<Tensor>> full = new CompletableFuture<>();
        scheduler.submit(new Job(List.of(rows(8)), List.of(), 8, "X:INT32", 0, Long.MAX_VALUE, null, full::complete,
                full::completeExceptionally));
        // 1 + 8 rows do not fit in one batch: the lone row runs now, and the full batch behind it is ready too; the
        // instance that slept on the lone row's hour is woken for it
        assertThat(full.get(5, TimeUnit.SECONDS).get(0).shape()).containsExactly(8);
        assertThat(lone).isNotDone();
        release.countDown();
        assertThat(lone.get(5, TimeUnit.SECONDS).get(0).shape()).containsExactly(1);
    }

    @Test
    void anInstanceThatFailsToTakeItsNextBatchServesOn() throws Exception {
        release.countDown();
        java.util.concurrent.atomic.AtomicBoolean boom = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.function.LongSupplier clock = () -> {
            if (Thread.currentThread().getName().equals("instance") && boom.getAndSet(false)) {
                throw new OutOfMemoryError("no heap left to decide");
            }
            return System.nanoTime();
        };
        scheduler = new ModelScheduler("m", BatchPolicy.unbatched(4), 1, (inputs, outputs, traces) -> inputs,
                (requests, r, nanos) -> { }, clock, task -> new Thread(task, "instance"));
        boom.set(true);
        CompletableFuture<List<Tensor>> first = submit(1);
        assertThat(value(first.get(5, TimeUnit.SECONDS))).isEqualTo(1);
        assertThat(boom).isFalse(); // it did throw, and the instance lived on to run the request
        assertThat(value(submit(2).get(5, TimeUnit.SECONDS))).isEqualTo(2);
    }

    /**
     * An Error (out of memory) at any clock read an instance makes, one read at a time: the end of a run, the
     * decision, the answering of jobs found expired, the end of an idle spell. Whichever read throws, every request
     * is answered and the instance serves on; none is taken off the queue and then dropped.
     */
    @Test
    void anErrorAtAnyClockReadOfAnInstanceLosesNoRequest() throws Exception {
        int fired = 0;
        for (int k = 1; k <= 60; k++) {
            if (!everyRequestAnsweredWhenTheInstancesClockThrowsAtRead(k)) {
                break; // read k comes after the scenario's last read: every read has thrown once
            }
            fired++;
        }
        assertThat(fired).as("clock reads the instance made, each failed once").isBetween(4, 59);
    }

    /** True if the instance's read {@code k} threw; asserts either way that every request was answered. */
    private boolean everyRequestAnsweredWhenTheInstancesClockThrowsAtRead(int k) throws Exception {
        AtomicLong now = new AtomicLong();
        AtomicInteger reads = new AtomicInteger();
        java.util.concurrent.atomic.AtomicBoolean armed = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicBoolean threw = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.function.LongSupplier clock = () -> {
            if (armed.get() && Thread.currentThread().getName().equals("instance") && reads.incrementAndGet() == k) {
                threw.set(true);
                throw new OutOfMemoryError("read " + k + " of the clock");
            }
            return now.get();
        };
        CountDownLatch held = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicReference<Thread> instance = new java.util.concurrent.atomic.AtomicReference<>();
        ModelScheduler s = new ModelScheduler("m", BatchPolicy.unbatched(4), 1, (inputs, outputs, traces) -> {
            if (value(inputs) == 1) {
                hold(held);
            }
            return inputs;
        }, (requests, r, nanos) -> { }, clock, task -> {
            Thread t = new Thread(task, "instance");
            instance.set(t);
            return t;
        });
        try {
            CompletableFuture<List<Tensor>> first = new CompletableFuture<>();
            s.submit(job(1, first));
            await().atMost(Duration.ofSeconds(5)).until(() -> s.inflight() == 1);
            // behind the held run: one whose deadline passes while it waits, and one without a deadline
            long deadline = now.get() + TimeUnit.MILLISECONDS.toNanos(50);
            CompletableFuture<List<Tensor>> late = new CompletableFuture<>();
            s.submit(new Job(List.of(tensor(2)), List.of(), 1, null, 0, deadline, null, late::complete,
                    late::completeExceptionally));
            CompletableFuture<List<Tensor>> third = new CompletableFuture<>();
            s.submit(job(3, third));
            now.set(deadline + 1);
            armed.set(true);
            held.countDown();

            answeredWithItsValueOrAFailure(first, 1);
            assertThat(late).as("read %d", k).failsWithin(Duration.ofSeconds(5)).withThrowableThat().havingCause()
                    .isInstanceOf(InferenceException.DeadlineExceeded.class);
            answeredWithItsValueOrAFailure(third, 3);
            // once the instance idles (waiting for work with no time limit: its idle spell has begun), a request
            // that ends the idle spell
            await().atMost(Duration.ofSeconds(5)).until(() -> instance.get().getState() == Thread.State.WAITING);
            CompletableFuture<List<Tensor>> fourth = new CompletableFuture<>();
            s.submit(job(4, fourth));
            answeredWithItsValueOrAFailure(fourth, 4);
            if (!threw.get()) {
                return false;
            }
            // the read has thrown: from here the instance must serve as if nothing happened
            CompletableFuture<List<Tensor>> after = new CompletableFuture<>();
            s.submit(job(5, after));
            assertThat(value(after.get(5, TimeUnit.SECONDS))).as("read %d", k).isEqualTo(5);
            return true;
        } finally {
            s.close();
        }
    }

    /** Answered within 5 s: with its own value, or failed as the model failing (the Error hit its run). */
    private static void answeredWithItsValueOrAFailure(CompletableFuture<List<Tensor>> result, int expected) {
        await().atMost(Duration.ofSeconds(5)).until(result::isDone);
        if (result.isCompletedExceptionally()) {
            assertThat(result).failsWithin(Duration.ZERO).withThrowableThat().havingCause()
                    .isInstanceOf(InferenceException.class);
        } else {
            assertThat(value(result.join())).isEqualTo(expected);
        }
    }

    @Test
    void retryAfterCountsTheRowsWaitingAndRunningNotTheRequests() throws Exception {
        CountDownLatch held = secondPerRow();
        assertThat(value(submit(1).get(5, TimeUnit.SECONDS))).isEqualTo(1); // measures a second per row
        // 8 rows queued and 1 running, one instance: 9 s (counting requests, it said 2)
        assertNineRowsTakeNineSeconds(held);
    }

    @Test
    void runsTheModelRefusesAtOnceLeaveTheTimePerRowAndSoTheRetryAfterAlone() throws Exception {
        CountDownLatch held = secondPerRow();
        assertThat(value(submit(1).get(5, TimeUnit.SECONDS))).isEqualTo(1); // measures a second per row
        for (int i = 0; i < 5; i++) {
            assertThat(submit(-1)).failsWithin(Duration.ofSeconds(5)).withThrowableThat().havingCause()
                    .isInstanceOf(InferenceException.InvalidInput.class);
        }
        // the five refusals, counted as runs, said 3 s
        assertNineRowsTakeNineSeconds(held);
    }

    /**
     * One instance whose runs take a second a row on the scheduler's clock, and refuse a negative value at once (an
     * input the runtime refuses at its first node); once the returned latch is counted down, each run is held until
     * {@code release}.
     */
    private CountDownLatch secondPerRow() {
        AtomicLong now = new AtomicLong();
        long second = TimeUnit.SECONDS.toNanos(1);
        CountDownLatch held = new CountDownLatch(1);
        scheduler = new ModelScheduler("m", BatchPolicy.unbatched(4), 1, (inputs, outputs, traces) -> {
            if (value(inputs) < 0) {
                throw new InferenceException.InvalidInput("token id past the vocabulary");
            }
            now.addAndGet(inputs.get(0).shape()[0] * second);
            if (held.getCount() == 0) {
                hold(release);
            }
            return inputs;
        }, (requests, r, nanos) -> { }, now::get, Thread::new);
        return held;
    }

    /** Holds a run of one row and queues two of four: the Retry-After of those 9 rows at a second each. */
    private void assertNineRowsTakeNineSeconds(CountDownLatch held) throws Exception {
        held.countDown();
        CompletableFuture<List<Tensor>> running = submit(2); // one row, held
        await().atMost(Duration.ofSeconds(5)).until(() -> scheduler.inflight() == 1);
        for (int i = 0; i < 2; i++) {
            scheduler.submit(new Job(List.of(rows(4)), List.of(), 4, null, 0, Long.MAX_VALUE, null, r -> { }, e -> { }));
        }
        assertThat(scheduler.retryAfter()).isEqualTo(Duration.ofSeconds(9));
        release.countDown();
        assertThat(value(running.get(5, TimeUnit.SECONDS))).isEqualTo(2);
    }

    @Test
    void theLongestRunIsOneRunOfTheModelNotABatchWithItsReruns() throws Exception {
        AtomicLong now = new AtomicLong();
        List<Long> seenAtStart = new java.util.concurrent.CopyOnWriteArrayList<>();
        scheduler = new ModelScheduler("m", new BatchPolicy(2, TimeUnit.HOURS.toNanos(1), List.of(), 16, 1), 1,
                (inputs, outputs, traces) -> {
                    seenAtStart.add(scheduler.longestRunNanos());
                    now.addAndGet(TimeUnit.SECONDS.toNanos(10)); // each run takes 10 s on the model's clock
                    if (inputs.get(0).shape()[0] > 1) {
                        throw new InferenceException.InvalidInput("the model refused the batch");
                    }
                    return inputs;
                }, (requests, r, nanos) -> { }, now::get, Thread::new);
        CompletableFuture<List<Tensor>> a = new CompletableFuture<>();
        CompletableFuture<List<Tensor>> b = new CompletableFuture<>();
        scheduler.submit(batchable(1, a));
        scheduler.submit(batchable(2, b));
        assertThat(value(b.get(5, TimeUnit.SECONDS))).isEqualTo(2);
        // the batch and its two reruns: 30 s in all, yet each run was new when it began
        assertThat(seenAtStart).containsExactly(0L, 0L, 0L);
        assertThat(scheduler.longestRunNanos()).isZero();
    }

    @Test
    void aBatchWhoseOutputsDoNotLeadWithItsRowsStopsTheBatchingAndSaysSo() throws Exception {
        scheduler = new ModelScheduler("m", new BatchPolicy(2, TimeUnit.HOURS.toNanos(1), List.of(), 16, 1), 1,
                (inputs, outputs, traces) -> List.of(new Tensor("boxes", Datatype.INT32, new long[] {5},
                        ByteBuffer.allocate(20))), // five boxes whatever the rows: the first dimension is no batch
                (requests, r, nanos) -> { }, System::nanoTime, Thread::new);
        CompletableFuture<List<Tensor>> a = new CompletableFuture<>();
        CompletableFuture<List<Tensor>> b = new CompletableFuture<>();
        scheduler.submit(batchable(1, a));
        assertThat(scheduler.stoppedBatching()).isFalse();
        scheduler.submit(batchable(2, b)); // the batch of 2 is formed, refused by the split, and each request rerun alone
        assertThat(a.get(5, TimeUnit.SECONDS).get(0).shape()).containsExactly(5);
        assertThat(b.get(5, TimeUnit.SECONDS).get(0).shape()).containsExactly(5);
        assertThat(scheduler.stoppedBatching()).isTrue();
    }

    private static Tensor rows(int rows) {
        return new Tensor("X", Datatype.INT32, new long[] {rows}, ByteBuffer.allocate(4 * rows));
    }

    private ModelScheduler scheduler(int instances, int queueSize, BatchRunner runner) {
        return new ModelScheduler("m", BatchPolicy.unbatched(queueSize), instances, runner,
                (requests, rows, nanos) -> { }, System::nanoTime, Thread::new);
    }

    /** One instance and a queue of {@code queueSize}; the run of value 1 holds it until {@code release}. */
    private CompletableFuture<List<Tensor>> oneHeldRun(int queueSize) {
        scheduler = scheduler(1, queueSize, (inputs, outputs, traces) -> {
            hold(release);
            return inputs;
        });
        CompletableFuture<List<Tensor>> running = submit(1);
        await().atMost(Duration.ofSeconds(5)).until(() -> scheduler.inflight() == 1);
        return running;
    }

    private CompletableFuture<List<Tensor>> submit(int value) {
        CompletableFuture<List<Tensor>> result = new CompletableFuture<>();
        scheduler.submit(job(value, result));
        return result;
    }

    /** One instance under {@code policy}, on {@code clock}, each of whose runs holds it until {@link #release}. */
    private ModelScheduler holding(BatchPolicy policy, java.util.function.LongSupplier clock) {
        return new ModelScheduler("m", policy, 1, (inputs, outputs, traces) -> {
            hold(release);
            return inputs;
        }, (requests, rows, nanos) -> { }, clock, Thread::new);
    }

    /** A job of {@code value} alone at priority level {@code level} (0 the highest). */
    private CompletableFuture<List<Tensor>> submit(int value, int level) {
        CompletableFuture<List<Tensor>> result = new CompletableFuture<>();
        scheduler.submit(new Job(List.of(tensor(value)), List.of(), 1, null, level, Long.MAX_VALUE, null,
                result::complete, result::completeExceptionally));
        return result;
    }

    private static void hold(CountDownLatch latch) {
        try {
            latch.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
