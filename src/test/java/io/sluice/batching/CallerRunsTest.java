package io.sluice.batching;

import static io.sluice.batching.TestJobs.batchable;
import static io.sluice.batching.TestJobs.job;
import static io.sluice.batching.TestJobs.tensor;
import static io.sluice.batching.TestJobs.value;
import static io.sluice.batching.TestJobs.waiting;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.sluice.inference.Datatype;
import io.sluice.inference.InferenceException;
import io.sluice.inference.Tensor;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A model fast enough runs a lone request on the thread that submits it, in an idle instance's place: the model's
 * clock is the test's, and each run moves it by the run's cost, so "fast enough" is exact.
 */
class CallerRunsTest {

    private static final long LIMIT = TimeUnit.MICROSECONDS.toNanos(50);
    private static final long FAST = TimeUnit.MICROSECONDS.toNanos(10);
    private static final long SLOW = TimeUnit.MICROSECONDS.toNanos(500);

    private final AtomicLong clock = new AtomicLong();
    /** The thread each value ran on last. */
    private final ConcurrentHashMap<Integer, Thread> ranOn = new ConcurrentHashMap<>();
    /** Every thread each value ran on, in order. */
    private final ConcurrentHashMap<Integer, Queue<Thread>> runsOf = new ConcurrentHashMap<>();
    private final AtomicInteger runsNow = new AtomicInteger();
    private final AtomicInteger mostRunsAtOnce = new AtomicInteger();
    private final CountDownLatch release = new CountDownLatch(1);
    /** Values whose runs wait for {@link #release}. */
    private final java.util.Set<Integer> held = ConcurrentHashMap.newKeySet();
    private ModelScheduler scheduler;

    @AfterEach
    void close() {
        release.countDown();
        if (scheduler != null) {
            scheduler.close();
        }
    }

    @Test
    void aFastModelRunsALoneRequestOnItsCallersThreadOnceItsRunsAreKnown() throws Exception {
        scheduler = scheduler(1, BatchPolicy.unbatched(4), FAST, () -> true);
        CompletableFuture<List<Tensor>> first = submit(1);
        assertThat(value(first.get(5, TimeUnit.SECONDS))).isEqualTo(1);
        assertThat(ranOn.get(1)).isNotSameAs(Thread.currentThread()); // nothing known yet: an instance ran it
        awaitIdle();
        quiet();

        CompletableFuture<List<Tensor>> second = submit(2);
        assertThat(second).isDone(); // answered before submit returned
        assertThat(value(second.get())).isEqualTo(2);
        assertThat(ranOn.get(2)).isSameAs(Thread.currentThread());
        assertThat(scheduler.inflight()).isZero();
        assertThat(scheduler.runningRequests()).isZero();
        // the lent instance is idle again, and waits as before
        assertThat(waiting(scheduler, clock.get())).isEqualTo(1);
        quiet();
        CompletableFuture<List<Tensor>> third = submit(3);
        assertThat(value(third.get(5, TimeUnit.SECONDS))).isEqualTo(3);
        assertThat(ranOn.get(3)).isSameAs(Thread.currentThread());
    }

    @Test
    void aRequestRightBehindThePreviousOneIsLeftToTheInstances() throws Exception {
        scheduler = scheduler(1, BatchPolicy.unbatched(4), FAST, () -> true);
        warm();
        assertThat(value(submit(1).get(5, TimeUnit.SECONDS))).isEqualTo(1);
        assertThat(ranOn.get(1)).isSameAs(Thread.currentThread());
        awaitIdle();
        // 10 µs later (its run), well within twice the limit: as a connection's requests read one after another
        long arrived = clock.get();
        CompletableFuture<List<Tensor>> behind = submit(2);
        assertThat(value(behind.get(5, TimeUnit.SECONDS))).isEqualTo(2);
        assertThat(ranOn.get(2)).isNotSameAs(Thread.currentThread());
        awaitIdle();
        clock.set(arrived + 2 * LIMIT - 1); // not quite twice the limit after the last arrival: still load
        arrived = clock.get();
        assertThat(value(submit(3).get(5, TimeUnit.SECONDS))).isEqualTo(3);
        assertThat(ranOn.get(3)).isNotSameAs(Thread.currentThread());
        awaitIdle();
        clock.set(arrived + 2 * LIMIT); // twice the limit after it: the caller runs it again
        assertThat(submit(4)).isDone();
        assertThat(ranOn.get(4)).isSameAs(Thread.currentThread());
    }

    @Test
    void aSlowModelAThreadThatMayNotRunAndAnUnsetLimitLeaveEveryRunToTheInstances() throws Exception {
        scheduler = scheduler(1, BatchPolicy.unbatched(4), SLOW, () -> true);
        assertThat(runTwice()).isNotSameAs(Thread.currentThread());
        scheduler.close();

        scheduler = scheduler(1, BatchPolicy.unbatched(4), FAST, () -> false);
        assertThat(runTwice()).isNotSameAs(Thread.currentThread());
        scheduler.close();

        scheduler = new ModelScheduler("m", BatchPolicy.unbatched(4), 1, this::run, (requests, rows, nanos) -> { },
                clock::get, Thread::new); // CallerRuns.NEVER
        cost.set(FAST);
        assertThat(runTwice()).isNotSameAs(Thread.currentThread());
    }

    @Test
    void aCallerNeverRunsPastTheQueueNorInABusyInstancesPlace() throws Exception {
        scheduler = scheduler(1, BatchPolicy.unbatched(4), FAST, () -> true);
        warm();
        held.add(1);
        CompletableFuture<List<Tensor>> running = runOnAnotherThread(1); // a caller holds the only place
        await().atMost(Duration.ofSeconds(5)).until(() -> scheduler.inflight() == 1 && ranOn.containsKey(1));
        assertThat(ranOn.get(1).getName()).isEqualTo("caller");

        quiet(); // apart from the last: only the lent place keeps this caller from running it
        CompletableFuture<List<Tensor>> queued = submit(2); // no idle instance: it waits its turn
        CompletableFuture<List<Tensor>> behind = submit(3);
        assertThat(queued).isNotDone();
        assertThat(scheduler.queueDepth()).isEqualTo(2);

        release.countDown();
        assertThat(value(running.get(5, TimeUnit.SECONDS))).isEqualTo(1);
        assertThat(value(queued.get(5, TimeUnit.SECONDS))).isEqualTo(2);
        assertThat(value(behind.get(5, TimeUnit.SECONDS))).isEqualTo(3);
        // the instance, woken though its place was lent when they came, ran them: never two runs at once
        assertThat(ranOn.get(2)).isNotSameAs(Thread.currentThread()).isSameAs(ranOn.get(3));
        assertThat(mostRunsAtOnce.get()).isEqualTo(1);
    }

    @Test
    void twoCallersRunInTwoPlacesAtOnceAndTheNextRequestWaitsForOne() throws Exception {
        scheduler = scheduler(2, BatchPolicy.unbatched(4), FAST, () -> true);
        assertThat(value(submit(0).get(5, TimeUnit.SECONDS))).isZero();
        await().atMost(Duration.ofSeconds(5)).until(() -> waiting(scheduler, clock.get()) == 2);
        quiet();
        held.add(1);
        held.add(2);
        CompletableFuture<List<Tensor>> one = runOnAnotherThread(1);
        await().atMost(Duration.ofSeconds(5)).until(() -> scheduler.inflight() == 1);
        quiet();
        CompletableFuture<List<Tensor>> two = runOnAnotherThread(2);
        // counted in flight as a run starts, and in the model a moment later
        await().atMost(Duration.ofSeconds(5))
                .until(() -> scheduler.inflight() == 2 && ranOn.containsKey(1) && ranOn.containsKey(2));
        assertThat(ranOn.get(1).getName()).isEqualTo("caller");
        assertThat(ranOn.get(2).getName()).isEqualTo("caller");

        quiet();
        CompletableFuture<List<Tensor>> three = submit(3); // both places lent: it waits for one
        assertThat(three).isNotDone();
        assertThat(scheduler.queueDepth()).isEqualTo(1);
        release.countDown();
        assertThat(value(one.get(5, TimeUnit.SECONDS))).isEqualTo(1);
        assertThat(value(two.get(5, TimeUnit.SECONDS))).isEqualTo(2);
        assertThat(value(three.get(5, TimeUnit.SECONDS))).isEqualTo(3);
        assertThat(ranOn.get(3).getName()).isNotEqualTo("caller");
        assertThat(ranOn.get(3)).isNotSameAs(Thread.currentThread());
        assertThat(mostRunsAtOnce.get()).isEqualTo(2);
    }

    @Test
    void aRequestCancelledDuringItsCallersRunIsCountedOffOnce() throws Exception {
        scheduler = scheduler(1, BatchPolicy.unbatched(4), FAST, () -> true);
        warm();
        held.add(1);
        CompletableFuture<List<Tensor>> result = new CompletableFuture<>();
        Job job = job(1, result);
        new Thread(() -> scheduler.submit(job), "caller").start();
        await().atMost(Duration.ofSeconds(5)).until(() -> scheduler.inflight() == 1);
        assertThat(scheduler.runningRequests()).isEqualTo(1);

        scheduler.cancel(job); // its client went away
        assertThat(scheduler.runningRequests()).isZero();
        release.countDown();
        await().atMost(Duration.ofSeconds(5)).until(() -> scheduler.inflight() == 0 && waiting(scheduler, clock.get()) == 1);
        assertThat(scheduler.runningRequests()).isZero();
        assertThat(result).isNotDone(); // no answer to a request that is gone
    }

    @Test
    void aBatchThatWouldWaitForCompanyIsLeftToTheInstances() throws Exception {
        long delay = TimeUnit.MILLISECONDS.toNanos(5);
        scheduler = scheduler(1, new BatchPolicy(4, delay, List.of(), 8, 1), FAST, () -> true);
        CompletableFuture<List<Tensor>> first = new CompletableFuture<>();
        scheduler.submit(batchable(1, first));
        clock.addAndGet(delay); // its wait for company over
        assertThat(value(first.get(5, TimeUnit.SECONDS))).isEqualTo(1);
        awaitIdle();

        quiet();
        CompletableFuture<List<Tensor>> second = new CompletableFuture<>();
        scheduler.submit(batchable(2, second));
        assertThat(second).isNotDone(); // it waits for company, on an instance
        clock.addAndGet(delay);
        assertThat(value(second.get(5, TimeUnit.SECONDS))).isEqualTo(2);
        assertThat(ranOn.get(2)).isNotSameAs(Thread.currentThread());
    }

    @Test
    void aRequestPastItsDeadlineIsFailedNotRunByItsCaller() throws Exception {
        scheduler = scheduler(1, BatchPolicy.unbatched(4), FAST, () -> true);
        warm();
        CompletableFuture<List<Tensor>> late = new CompletableFuture<>();
        scheduler.submit(new Job(List.of(tensor(2)), List.of(), 1, null, 0, clock.get(), null, late::complete,
                late::completeExceptionally));
        assertThat(late).failsWithin(Duration.ofSeconds(5))
                .withThrowableOfType(java.util.concurrent.ExecutionException.class).withCauseInstanceOf(InferenceException.DeadlineExceeded.class);
        assertThat(ranOn).doesNotContainKey(2);
    }

    @Test
    void aFailingRunOnTheCallersThreadFailsOnlyItsRequestAndGivesThePlaceBack() throws Exception {
        scheduler = scheduler(1, BatchPolicy.unbatched(4), FAST, () -> true);
        warm();
        CompletableFuture<List<Tensor>> failed = submit(-1); // the fake model refuses -1
        assertThat(failed).isCompletedExceptionally();
        assertThat(ranOn.get(-1)).isSameAs(Thread.currentThread());
        assertThat(waiting(scheduler, clock.get())).isEqualTo(1); // its instance waits for work as before
        quiet();
        CompletableFuture<List<Tensor>> next = submit(4); // the place is back: the caller runs the next one too
        assertThat(next).isDone();
        assertThat(value(next.get())).isEqualTo(4);
        assertThat(ranOn.get(4)).isSameAs(Thread.currentThread());
    }

    @Test
    void aFailureTheInputMayHaveCausedIsLookedIntoByTheInstanceNotOnTheCallersThread() throws Exception {
        scheduler = scheduler(1, BatchPolicy.unbatched(4), FAST, () -> true);
        scheduler.knownGood(List.of(tensor(0)));
        warm();
        CompletableFuture<List<Tensor>> failed = submit(-2); // a kernel fails on it, as on MiniLM's 513th token
        // the caller ran it once; the probe of the known-good input and the rerun alone were the instance's
        assertThat(failed).failsWithin(Duration.ofSeconds(5)).withThrowableOfType(java.util.concurrent.ExecutionException.class)
                .withCauseInstanceOf(InferenceException.InvalidInput.class);
        assertThat(runsOf.get(-2)).hasSize(2).first().isSameAs(Thread.currentThread());
        assertThat(runsOf.get(-2)).last().isNotSameAs(Thread.currentThread());
        assertThat(runsOf.get(0)).hasSize(2).allMatch(t -> t != Thread.currentThread()); // warm-up and probe
        // the instance answers the request, then counts it off
        await().atMost(Duration.ofSeconds(5)).until(() -> scheduler.runningRequests() == 0);

        awaitIdle();
        quiet();
        CompletableFuture<List<Tensor>> next = submit(5); // its place came back, and the refusals taught it nothing
        assertThat(next).isDone();
        assertThat(ranOn.get(5)).isSameAs(Thread.currentThread());
    }

    @Test
    void aCallerNeverRunsWhileRequestsAreQueued() throws Exception {
        long delay = TimeUnit.MILLISECONDS.toNanos(5);
        scheduler = scheduler(2, new BatchPolicy(4, delay, List.of(), 8, 1), FAST, () -> true);
        CompletableFuture<List<Tensor>> first = submit(0);
        assertThat(value(first.get(5, TimeUnit.SECONDS))).isZero();
        await().atMost(Duration.ofSeconds(5)).until(() -> waiting(scheduler, clock.get()) == 2);
        CompletableFuture<List<Tensor>> company = new CompletableFuture<>();
        scheduler.submit(batchable(1, company)); // queued, waiting for company, both instances idle
        quiet();

        CompletableFuture<List<Tensor>> alone = submit(2); // it could run now, but the queue was not empty
        assertThat(value(alone.get(5, TimeUnit.SECONDS))).isEqualTo(2);
        assertThat(ranOn.get(2)).isNotSameAs(Thread.currentThread());
        clock.addAndGet(delay);
        assertThat(value(company.get(5, TimeUnit.SECONDS))).isEqualTo(1);
    }

    @Test
    void aRequestWithoutInputBytesOrAfterARefusedRunIsLeftToTheInstances() throws Exception {
        scheduler = scheduler(1, BatchPolicy.unbatched(4), FAST, () -> true);
        assertThat(submit(-1)).failsWithin(Duration.ofSeconds(5)); // refused by the model: no measure of a run
        awaitIdle();
        quiet();
        assertThat(value(submit(5).get(5, TimeUnit.SECONDS))).isEqualTo(5);
        assertThat(ranOn.get(5)).isNotSameAs(Thread.currentThread());
        awaitIdle();
        quiet();

        CompletableFuture<List<Tensor>> empty = new CompletableFuture<>(); // no bytes: any estimate per byte says 0
        scheduler.submit(new Job(List.of(new Tensor("X", Datatype.INT32, new long[] {0}, ByteBuffer.allocate(0))),
                List.of(), 1, null, 0, Long.MAX_VALUE, null, empty::complete, empty::completeExceptionally));
        assertThat(empty.get(5, TimeUnit.SECONDS)).isNotNull();
        assertThat(ranOn.get(EMPTY)).isNotSameAs(Thread.currentThread());
    }

    @Test
    void aRequestTakenOffTheQueueRunsEvenWhenTheClockFailsAsItsInstanceStopsIdling() throws Exception {
        AtomicInteger reads = new AtomicInteger();
        AtomicInteger failing = new AtomicInteger(-1);
        cost.set(FAST);
        scheduler = new ModelScheduler("m", BatchPolicy.unbatched(4), 1, this::run, (requests, rows, nanos) -> { }, () -> {
            if (reads.incrementAndGet() == failing.get()) {
                throw new OutOfMemoryError("no heap left to read the clock");
            }
            return clock.get();
        }, Thread::new, new CallerRuns(LIMIT, () -> true));
        warm();
        // the second read of a caller's submit is its instance's end of idling, after the job left the queue
        failing.set(reads.get() + 2);
        CompletableFuture<List<Tensor>> taken = submit(1);
        assertThat(value(taken.get(5, TimeUnit.SECONDS))).isEqualTo(1);
        assertThat(ranOn.get(1)).isSameAs(Thread.currentThread());
        assertThat(failing.get()).isLessThanOrEqualTo(reads.get()); // the failing read came
        // and the place came back
        quiet();
        CompletableFuture<List<Tensor>> next = submit(2);
        assertThat(next).isDone();
        assertThat(ranOn.get(2)).isSameAs(Thread.currentThread());
    }

    @Test
    void aRequestQueuedBehindACallersRunIsAnsweredWhicheverClockReadOfTheCallerFailsAfterItsRun() throws Exception {
        int fired = 0;
        for (int k = 1; k <= 40; k++) {
            if (!queuedRequestAnsweredWhenTheCallersClockThrowsAtRead(k)) {
                break; // read k comes after the caller's last: every read it made has thrown once
            }
            fired++;
        }
        assertThat(fired).as("clock reads the caller made once its run began, each failed once").isBetween(1, 39);
    }

    /** True if the caller's read {@code k} from its run on threw; asserts either way that both requests were answered. */
    private boolean queuedRequestAnsweredWhenTheCallersClockThrowsAtRead(int k) throws Exception {
        AtomicInteger reads = new AtomicInteger();
        java.util.concurrent.atomic.AtomicBoolean armed = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicBoolean threw = new java.util.concurrent.atomic.AtomicBoolean();
        CountDownLatch running = new CountDownLatch(1);
        CountDownLatch hold = new CountDownLatch(1);
        ModelScheduler s = new ModelScheduler("m", BatchPolicy.unbatched(4), 1, (inputs, outputs, traces) -> {
            if (value(inputs) == 1) {
                running.countDown();
                try {
                    hold.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            clock.addAndGet(FAST);
            return inputs;
        }, (requests, rows, nanos) -> { }, () -> {
            if (armed.get() && Thread.currentThread().getName().equals("caller") && reads.incrementAndGet() == k) {
                threw.set(true);
                throw new OutOfMemoryError("read " + k + " of the clock");
            }
            return clock.get();
        }, Thread::new, new CallerRuns(LIMIT, () -> true));
        try {
            CompletableFuture<List<Tensor>> first = new CompletableFuture<>();
            s.submit(job(0, first)); // an instance's run: now the model's runs are known
            assertThat(value(first.get(5, TimeUnit.SECONDS))).isZero();
            await().atMost(Duration.ofSeconds(5)).until(() -> waiting(s, clock.get()) == 1);
            quiet();
            CompletableFuture<List<Tensor>> callers = new CompletableFuture<>();
            new Thread(() -> s.submit(job(1, callers)), "caller").start();
            assertThat(running.await(5, TimeUnit.SECONDS)).isTrue(); // in the only instance's place
            CompletableFuture<List<Tensor>> queued = new CompletableFuture<>();
            s.submit(job(2, queued));
            assertThat(queued).isNotDone();

            armed.set(true);
            hold.countDown();
            // the caller's own request: its value, or a failure when the read that times its run failed
            await().atMost(Duration.ofSeconds(5)).until(callers::isDone);
            if (!callers.isCompletedExceptionally()) {
                assertThat(value(callers.get())).isEqualTo(1);
            }
            assertThat(queued).as("read %d", k).succeedsWithin(Duration.ofSeconds(5))
                    .satisfies(out -> assertThat(value(out)).isEqualTo(2));
            return threw.get();
        } finally {
            hold.countDown();
            s.close();
        }
    }

    @Test
    void closingWaitsForACallersRunEvenWhenItsInstancesThreadHasEnded() throws Exception {
        Queue<Thread> instances = new ConcurrentLinkedQueue<>();
        cost.set(FAST);
        scheduler = new ModelScheduler("m", BatchPolicy.unbatched(4), 1, this::run, (requests, rows, nanos) -> { },
                clock::get, r -> {
                    Thread t = new Thread(r);
                    instances.add(t);
                    return t;
                }, new CallerRuns(LIMIT, () -> true));
        warm();
        held.add(1);
        CompletableFuture<List<Tensor>> running = runOnAnotherThread(1);
        await().atMost(Duration.ofSeconds(5)).until(() -> scheduler.inflight() == 1);
        Thread instance = instances.peek();
        instance.interrupt(); // its thread ends while its place is lent
        instance.join(5_000);
        assertThat(instance.isAlive()).isFalse();

        scheduler.close(TimeUnit.MILLISECONDS.toNanos(1));
        assertThat(scheduler.stopped()).isFalse(); // the caller still runs the model
        release.countDown();
        assertThat(scheduler.awaitStopped(TimeUnit.SECONDS.toNanos(5))).isTrue();
        assertThat(value(running.get(5, TimeUnit.SECONDS))).isEqualTo(1);
        assertThat(waiting(scheduler, clock.get())).isZero(); // an ended instance is not counted as idle
    }

    @Test
    void closingWaitsForARunOnACallersThread() throws Exception {
        scheduler = scheduler(1, BatchPolicy.unbatched(4), FAST, () -> true);
        warm();
        held.add(1);
        CompletableFuture<List<Tensor>> running = runOnAnotherThread(1);
        await().atMost(Duration.ofSeconds(5)).until(() -> scheduler.inflight() == 1);

        scheduler.close(TimeUnit.MILLISECONDS.toNanos(1));
        assertThat(scheduler.stopped()).isFalse(); // the session must not be freed under the caller's run
        release.countDown();
        assertThat(scheduler.awaitStopped(TimeUnit.SECONDS.toNanos(5))).isTrue();
        assertThat(value(running.get(5, TimeUnit.SECONDS))).isEqualTo(1);
    }

    @Test
    void aCallersRunThatOverrunsIsStoppedByTheWatchRunsAgainOnTheInstanceAndTheModelsRunsStayThere() throws Exception {
        long overrun = TimeUnit.MILLISECONDS.toNanos(20);
        Queue<Thread> stops = new ConcurrentLinkedQueue<>();
        CountDownLatch stop = new CountDownLatch(1);
        cost.set(FAST);
        scheduler = new ModelScheduler("m", BatchPolicy.unbatched(4), 1, sevenRunsUntil(stop),
                (requests, rows, nanos) -> { }, clock::get, Thread::new,
                new CallerRuns(LIMIT, () -> true, overrun, thread -> {
                    stops.add(thread);
                    stop.countDown();
                }));
        assertThat(CallerWatch.watches(scheduler)).isTrue();
        warm();
        CompletableFuture<List<Tensor>> overrunning = runOnAnotherThread(7);
        await().atMost(Duration.ofSeconds(5)).until(() -> scheduler.inflight() == 1 && ranOn.containsKey(7));
        assertThat(ranOn.get(7).getName()).isEqualTo("caller");

        clock.addAndGet(overrun); // at its limit, not past it
        assertThat(scheduler.stopOverrunningCallers()).isZero();
        assertThat(overrunning).isNotDone();
        clock.addAndGet(1); // past it: the watch's next tick stops the run on the thread making it
        await().atMost(Duration.ofSeconds(5)).until(() -> stop.getCount() == 0);
        assertThat(stops).singleElement().satisfies(t -> assertThat(t.getName()).isEqualTo("caller"));

        // the request did not fail: the instance ran it again, and answered it
        assertThat(value(overrunning.get(5, TimeUnit.SECONDS))).isEqualTo(7);
        assertThat(runsOf.get(7)).hasSize(2).last().satisfies(t -> assertThat(t.getName()).isNotEqualTo("caller"));
        assertThat(scheduler.callerRunsOff()).isTrue();
        awaitIdle();
        assertThat(scheduler.stopOverrunningCallers()).isZero(); // nothing runs in a caller's place now
        quiet();
        // every run is the instance's from now on, however fast the model's runs say this one is
        assertThat(value(submit(8).get(5, TimeUnit.SECONDS))).isEqualTo(8);
        assertThat(ranOn.get(8)).isNotSameAs(Thread.currentThread());
        assertThat(stops).hasSize(1);

        scheduler.close();
        assertThat(CallerWatch.watches(scheduler)).isFalse();
    }

    @Test
    void aStopThatFailsIsTriedAgainAtTheWatchsNextTick() throws Exception {
        long overrun = TimeUnit.MILLISECONDS.toNanos(20);
        AtomicInteger tries = new AtomicInteger();
        CountDownLatch stop = new CountDownLatch(1);
        cost.set(FAST);
        scheduler = new ModelScheduler("m", BatchPolicy.unbatched(4), 1, sevenRunsUntil(stop),
                (requests, rows, nanos) -> { }, clock::get, Thread::new,
                new CallerRuns(LIMIT, () -> true, overrun, thread -> {
                    if (tries.incrementAndGet() == 1) {
                        throw new IllegalStateException("the session is between runs"); // as OnnxSession may say
                    }
                    stop.countDown();
                }));
        warm();
        CompletableFuture<List<Tensor>> overrunning = runOnAnotherThread(7);
        await().atMost(Duration.ofSeconds(5)).until(() -> scheduler.inflight() == 1 && ranOn.containsKey(7));

        clock.addAndGet(overrun + 1);
        // the first stop failed; a later tick stopped the run, which the instance ran again and answered
        await().atMost(Duration.ofSeconds(5)).until(() -> stop.getCount() == 0);
        assertThat(tries.get()).isEqualTo(2);
        assertThat(value(overrunning.get(5, TimeUnit.SECONDS))).isEqualTo(7);
        assertThat(runsOf.get(7)).hasSize(2).last().satisfies(t -> assertThat(t.getName()).isNotEqualTo("caller"));
    }

    @Test
    void aStoppedCallersRequestWhoseDeadlinePassedMeanwhileIsAnsweredSoAndNotRunAgain() throws Exception {
        long overrun = TimeUnit.MILLISECONDS.toNanos(20);
        CountDownLatch stop = new CountDownLatch(1);
        cost.set(FAST);
        scheduler = new ModelScheduler("m", BatchPolicy.unbatched(4), 1, sevenRunsUntil(stop),
                (requests, rows, nanos) -> { }, clock::get, Thread::new,
                new CallerRuns(LIMIT, () -> true, overrun, thread -> stop.countDown()));
        warm();
        CompletableFuture<List<Tensor>> result = new CompletableFuture<>();
        long deadline = clock.get() + overrun / 2; // passes while the caller's run goes on
        Thread caller = new Thread(() -> scheduler.submit(new Job(List.of(tensor(7)), List.of(), 1, null, 0, deadline,
                null, result::complete, result::completeExceptionally)), "caller");
        caller.start();
        await().atMost(Duration.ofSeconds(5)).until(() -> scheduler.inflight() == 1 && ranOn.containsKey(7));
        assertThat(ranOn.get(7).getName()).isEqualTo("caller");

        clock.addAndGet(overrun + 1);
        await().atMost(Duration.ofSeconds(5)).until(() -> stop.getCount() == 0); // the watch's tick stopped it

        assertThat(result).failsWithin(Duration.ofSeconds(5)).withThrowableOfType(ExecutionException.class)
                .havingCause().isInstanceOf(InferenceException.DeadlineExceeded.class);
        assertThat(runsOf.get(7)).as("the instance did not run it again for no one").hasSize(1);
        awaitIdle();
        assertThat(scheduler.runningRequests()).isZero();
    }

    @Test
    void aCallersRunThatEndsWithinItsOverrunLimitIsLeftAlone() throws Exception {
        long overrun = TimeUnit.MILLISECONDS.toNanos(20);
        Queue<Thread> stops = new ConcurrentLinkedQueue<>();
        cost.set(FAST);
        scheduler = new ModelScheduler("m", BatchPolicy.unbatched(4), 1, this::run, (requests, rows, nanos) -> { },
                clock::get, Thread::new, new CallerRuns(LIMIT, () -> true, overrun, stops::add));
        warm();
        held.add(1);
        CompletableFuture<List<Tensor>> running = runOnAnotherThread(1);
        await().atMost(Duration.ofSeconds(5)).until(() -> scheduler.inflight() == 1 && ranOn.containsKey(1));
        clock.addAndGet(overrun - FAST); // the run moves it by FAST as it ends: then it has run its limit, no more
        assertThat(scheduler.stopOverrunningCallers()).isZero();
        release.countDown();
        assertThat(value(running.get(5, TimeUnit.SECONDS))).isEqualTo(1);
        awaitIdle();
        clock.addAndGet(overrun); // long after it: a run that ended is never stopped
        assertThat(scheduler.stopOverrunningCallers()).isZero();
        assertThat(stops).isEmpty();
        assertThat(scheduler.callerRunsOff()).isFalse(); // callers may run the model again once its runs say so
    }

    // ---- the fake model ----

    private final AtomicLong cost = new AtomicLong();
    /** The value {@link #run} records a request without input bytes under. */
    private static final int EMPTY = Integer.MIN_VALUE;

    private ModelScheduler scheduler(int instances, BatchPolicy policy, long runNanos, BooleanSupplier mayRun) {
        cost.set(runNanos);
        return new ModelScheduler("m", policy, instances, this::run, (requests, rows, nanos) -> { }, clock::get,
                Thread::new, new CallerRuns(LIMIT, mayRun));
    }

    private List<Tensor> run(List<Tensor> inputs, List<String> outputs, List<Object> traces) {
        int now = runsNow.incrementAndGet();
        mostRunsAtOnce.accumulateAndGet(now, Math::max);
        try {
            int value = inputs.get(0).data().capacity() == 0 ? EMPTY : value(inputs);
            ranOn.put(value, Thread.currentThread());
            runsOf.computeIfAbsent(value, v -> new ConcurrentLinkedQueue<>()).add(Thread.currentThread());
            if (held.contains(value)) {
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            clock.addAndGet(cost.get());
            if (value == -1) {
                throw new InferenceException.InvalidInput("the model refuses " + value);
            }
            if (value == -2) {
                throw new InferenceException.RuntimeFailure("a kernel failed on " + value, null, true);
            }
            return inputs;
        } finally {
            runsNow.decrementAndGet();
        }
    }

    /**
     * The fake model, but value 7's first run goes on until {@code stop}, then fails as ONNX Runtime ends a stopped
     * run; a rerun of it is quick.
     */
    private BatchRunner sevenRunsUntil(CountDownLatch stop) {
        java.util.Set<Integer> hangOnce = ConcurrentHashMap.newKeySet();
        hangOnce.add(7);
        return (inputs, outputs, traces) -> {
            if (!hangOnce.remove(value(inputs))) {
                return run(inputs, outputs, traces);
            }
            ranOn.put(7, Thread.currentThread());
            runsOf.computeIfAbsent(7, v -> new ConcurrentLinkedQueue<>()).add(Thread.currentThread());
            try {
                stop.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            throw new InferenceException.RuntimeFailure("Exiting due to terminate flag being set to true.", null, true);
        };
    }

    /** One run, so the scheduler knows what a run takes. */
    private void warm() throws Exception {
        assertThat(value(submit(0).get(5, TimeUnit.SECONDS))).isZero();
        awaitIdle();
        quiet();
    }

    /** Time passes on the model's clock: its next request comes apart from the last, not under load. */
    private void quiet() {
        clock.addAndGet(2 * LIMIT);
    }

    /** Until the instance, done with its run, waits for work again. */
    private void awaitIdle() {
        await().atMost(Duration.ofSeconds(5)).until(() -> waiting(scheduler, clock.get()) == 1);
    }

    /** Runs two requests one after the other; the thread the second ran on. */
    private Thread runTwice() throws Exception {
        ranOn.clear();
        warm();
        assertThat(value(submit(5).get(5, TimeUnit.SECONDS))).isEqualTo(5);
        return ranOn.get(5);
    }

    private CompletableFuture<List<Tensor>> runOnAnotherThread(int value) {
        CompletableFuture<List<Tensor>> result = new CompletableFuture<>();
        Thread caller = new Thread(() -> scheduler.submit(job(value, result)), "caller");
        caller.start();
        return result;
    }

    private CompletableFuture<List<Tensor>> submit(int value) {
        CompletableFuture<List<Tensor>> result = new CompletableFuture<>();
        scheduler.submit(job(value, result));
        return result;
    }

}
