package io.sluice.admission;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.sluice.TinyRepositoryResource;
import io.sluice.batching.BatchPolicy;
import io.sluice.batching.Job;
import io.sluice.batching.ModelScheduler;
import io.sluice.config.ModelSettings;
import io.sluice.inference.Datatype;
import io.sluice.inference.InferRequest;
import io.sluice.inference.InferResponse;
import io.sluice.inference.InferenceException;
import io.sluice.inference.Tensor;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.Cancellable;
import io.smallrye.mutiny.subscription.UniEmitter;
import io.smallrye.mutiny.subscription.UniSubscriber;
import io.smallrye.mutiny.subscription.UniSubscription;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.jboss.logmanager.ExtLogRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A model's guard in front of a real scheduler whose fake runtime runs only when the test lets it:
 * exact admitted and rejected counts, and every permit back after results, errors, cancellations and
 * deadlines. (A {@code @QuarkusTest} because SmallRye Fault Tolerance's guards live in the container.) After every
 * test, SmallRye's bulkhead has never had to queue a call: each found a work permit at once (see {@link
 * BulkheadTrace}).
 */
@QuarkusTest
@QuarkusTestResource(TinyRepositoryResource.class)
class ModelGuardTest {

    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final int FAIL = -1;
    private static final int CLIENT_ERROR = -2;
    /** A run that takes an hour on the model's clock. */
    private static final int HOUR_LONG = -3;

    private final Semaphore runs = new Semaphore(0);
    private final List<Integer> ran = new CopyOnWriteArrayList<>();
    private final AtomicLong clock = new AtomicLong();
    /** The mirror's clock of the breaker's open state; null: the real one, which SmallRye's own breaker keeps. */
    private AtomicLong circuitClock;
    private ModelScheduler scheduler;
    /** The scheduler's one instance thread. */
    private volatile Thread instance;

    private final BulkheadTrace trace = new BulkheadTrace();

    @BeforeEach
    void listen() {
        trace.install();
    }

    @AfterEach
    void close() {
        runs.release(1000);
        if (scheduler != null) {
            scheduler.close();
        }
        trace.uninstall();
        // SmallRye Fault Tolerance 6.10.1 can strand a call it puts back in its queue (ModelGuard's class comment)
        assertThat(trace.lines).as("SmallRye's bulkhead trace").noneMatch(line -> line.contains("Work semaphore not acquired")
                || line.contains("Capacity semaphore not acquired"));
    }

    /**
     * SmallRye's bulkhead's own trace lines, recorded; and a thread of a given name held at a given line until the
     * test lets it go.
     */
    private static final class BulkheadTrace extends Handler {
        private static final Logger BULKHEAD = Logger.getLogger("io.smallrye.faulttolerance.core.bulkhead");
        final List<String> lines = new CopyOnWriteArrayList<>();
        private final CountDownLatch reached = new CountDownLatch(1);
        private final CountDownLatch goOn = new CountDownLatch(1);
        private volatile String thread;
        private volatile String line;
        private Level level;

        void install() {
            level = BULKHEAD.getLevel();
            BULKHEAD.setLevel(Level.FINEST);
            BULKHEAD.setUseParentHandlers(false); // recorded here, not printed
            BULKHEAD.addHandler(this);
        }

        void uninstall() {
            goOn.countDown();
            BULKHEAD.removeHandler(this);
            BULKHEAD.setUseParentHandlers(true);
            BULKHEAD.setLevel(level);
        }

        /** Holds the thread named {@code thread} when it logs a line starting with {@code line}, once. */
        void hold(String thread, String line) {
            this.line = line;
            this.thread = thread;
        }

        /** Waits until the held thread is at its line. */
        boolean reached() throws InterruptedException {
            return reached.await(WAIT.toSeconds(), TimeUnit.SECONDS);
        }

        void letGo() {
            goOn.countDown();
        }

        @Override
        public void publish(LogRecord r) {
            // SmallRye's refusals are logged as "%s: %s" with their parameters
            String message = r instanceof ExtLogRecord e ? e.getFormattedMessage() : r.getMessage();
            if (message == null) {
                return;
            }
            lines.add(message);
            if (Thread.currentThread().getName().equals(thread) && message.startsWith(line) && reached.getCount() > 0) {
                reached.countDown();
                try {
                    goOn.await(WAIT.toSeconds(), TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        @Override
        public void flush() { }

        @Override
        public void close() { }
    }

    /** One instance, one request per run; the guard admits {@code capacity} into the scheduler. */
    private ModelGuard guard(int capacity, ModelSettings.Admission admission) {
        return guard(capacity, admission, 1);
    }

    /** As above, on a model of {@code levels} priority levels. */
    private ModelGuard guard(int capacity, ModelSettings.Admission admission, int levels) {
        scheduler = new ModelScheduler("m", new BatchPolicy(1, 0, List.of(), capacity, levels), 1, (inputs, outputs, traces) -> {
            int value = inputs.get(0).data().getInt(0);
            try {
                if (!runs.tryAcquire(30, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("the test never let run " + value + " go");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            ran.add(value);
            if (value == HOUR_LONG) {
                clock.addAndGet(Duration.ofHours(1).toNanos());
            }
            if (value == FAIL) {
                throw new IllegalStateException("the model failed");
            }
            if (value == CLIENT_ERROR) {
                throw new InferenceException.InvalidInput("a client mistake");
            }
            return inputs;
        }, (requests, rows, nanos) -> { }, clock::get, task -> instance = new Thread(task, "instance"));
        return new ModelGuard("m", capacity, admission, scheduler, clock::get, circuitClock == null ? System::nanoTime
                : circuitClock::get);
    }

    /** A job of {@code value} for the scheduler, not through the guard. */
    private static Job pastTheGuard(int value) {
        return new Job(List.of(tensor(value)), List.of(), 1, null, 0, Long.MAX_VALUE, null, out -> { }, e -> { });
    }

    /** Runs {@code value} on the one instance, not through the guard, and waits until its run has started. */
    private void runPastTheGuard(int value) {
        scheduler.submit(pastTheGuard(value));
        await().atMost(WAIT).until(() -> scheduler.inflight() == 1);
    }

    private static void assertCircuitOpen(ModelGuard guard) {
        assertThat(guard.turnsAway()).isNotNull().extracting(InferenceException.Unavailable::reason)
                .isEqualTo(InferenceException.Unavailable.Reason.CIRCUIT_OPEN);
    }

    private static ModelSettings.Admission admission(boolean breaker) {
        return new ModelSettings.Admission(1, Duration.ofMinutes(1), breaker, 4, 0.5, Duration.ofSeconds(7));
    }

    private final class Call {
        final CompletableFuture<InferResponse> result = new CompletableFuture<>();
        final Cancellable subscription;

        Call(ModelGuard guard, int value, long deadlineNanos) {
            this(guard, queueDeadline -> work(value, queueDeadline), deadlineNanos);
        }

        Call(ModelGuard guard, ModelGuard.Work work, long deadlineNanos) {
            subscription = guard.run(work, deadlineNanos).subscribe().with(result::complete, result::completeExceptionally);
        }

        /** A call of {@code value} at priority level {@code level} (0 the highest). */
        Call(ModelGuard guard, int value, int level) {
            subscription = guard.run(queueDeadline -> work(value, level, queueDeadline), Long.MAX_VALUE, level)
                    .subscribe().with(result::complete, result::completeExceptionally);
        }
    }

    /** The work of a call of {@code value}: a job for the scheduler, cancelled with the call. */
    private Uni<InferResponse> work(int value, long queueDeadline) {
        return work(value, 0, queueDeadline);
    }

    /** As above, at priority level {@code level}. */
    private Uni<InferResponse> work(int value, int level, long queueDeadline) {
        return Uni.createFrom().emitter(emitter -> {
            Job job = new Job(List.of(tensor(value)), List.of(), 1, null, level, queueDeadline, null,
                    out -> emitter.complete(new InferResponse("m", "1", null, Map.of(), out)), emitter::fail);
            emitter.onTermination(() -> scheduler.cancel(job));
            scheduler.submit(job);
        });
    }

    private Call call(ModelGuard guard, int value) {
        return new Call(guard, value, Long.MAX_VALUE);
    }

    @Test
    void admitsExactlyItsCapacityAndRejectsTheRestAtOnce() {
        ModelGuard guard = guard(4, admission(false));
        List<Call> calls = List.of(call(guard, 1), call(guard, 2), call(guard, 3), call(guard, 4), call(guard, 5),
                call(guard, 6));
        // 4 in the scheduler (one running, three queued), 2 turned away
        assertThat(guard.capacity()).isEqualTo(4);
        await().atMost(WAIT).until(() -> scheduler.runningRequests() == 1 && scheduler.queueDepth() == 3);
        assertThat(calls.get(4).result).isCompletedExceptionally();
        assertThat(calls.get(5).result).isCompletedExceptionally();
        for (Call rejected : calls.subList(4, 6)) {
            assertThat(rejected.result).failsWithin(WAIT).withThrowableThat().havingCause()
                    .isInstanceOfSatisfying(InferenceException.Unavailable.class, u -> {
                        assertThat(u.reason()).isEqualTo(InferenceException.Unavailable.Reason.BULKHEAD_FULL);
                        assertThat(u.retryAfter()).isPositive();
                        assertThat(u.getMessage()).contains("model 'm' is at capacity (4 requests admitted)");
                    });
        }
        assertThat(guard.held()).isEqualTo(4);
        assertThat(ran).isEmpty();

        runs.release(4);
        for (Call admitted : calls.subList(0, 4)) {
            assertThat(admitted.result).succeedsWithin(WAIT);
        }
        await().atMost(WAIT).until(() -> guard.held() == 0);
        assertThat(guard.released()).isEqualTo(4);
        assertThat(ran).containsExactly(1, 2, 3, 4);
    }

    @Test
    void aFullBulkheadGivesAHigherLevelThePlaceOfTheNewestQueuedRequestOfTheLowestLevel() {
        ModelGuard guard = guard(4, admission(false), 3);
        Call running = new Call(guard, 1, 2);
        await().atMost(WAIT).until(() -> scheduler.runningRequests() == 1);
        Call low1 = new Call(guard, 2, 2);
        Call middle = new Call(guard, 3, 1);
        Call low2 = new Call(guard, 4, 2);
        assertThat(guard.held()).isEqualTo(4);
        // the arrival's level is read with the request: while a lower one waits, it is not turned away unread
        assertThat(guard.turnsAway()).isNull();

        Call lowest = new Call(guard, 5, 2); // no place below the lowest level: turned away as before
        assertThat(lowest.result).failsWithin(WAIT).withThrowableThat().havingCause()
                .isInstanceOfSatisfying(InferenceException.Unavailable.class, u -> assertThat(u.getMessage())
                        .isEqualTo("model 'm' is at capacity (4 requests admitted)"));
        Call top = new Call(guard, 6, 0); // takes the place of 4, the newest of the lowest level
        assertThat(low2.result).failsWithin(WAIT).withThrowableThat().havingCause()
                .isInstanceOfSatisfying(InferenceException.Unavailable.class, u -> {
                    assertThat(u.reason()).isEqualTo(InferenceException.Unavailable.Reason.BULKHEAD_FULL);
                    assertThat(u.retryAfter()).isPositive();
                    assertThat(u.getMessage()).isEqualTo("model 'm' is at capacity (4 requests admitted): a request of"
                            + " a higher priority level took this one's place");
                });
        assertThat(top.result).isNotDone();
        assertThat(guard.held()).isEqualTo(4);
        Call middle2 = new Call(guard, 7, 1); // then the older of that level
        assertThat(low1.result).failsWithin(WAIT);
        assertThat(middle2.result).isNotDone();
        assertThat(guard.held()).isEqualTo(4);
        assertThat(scheduler.queueDepth()).isEqualTo(3);
        Call middle3 = new Call(guard, 8, 1); // nothing below its level waits now: turned away
        assertThat(middle3.result).failsWithin(WAIT);
        assertThat(guard.turnsAway()).isNull(); // a request of the highest level could still take 7's place

        runs.release(4);
        for (Call served : List.of(running, top, middle, middle2)) {
            assertThat(served.result).succeedsWithin(WAIT);
        }
        await().atMost(WAIT).until(() -> guard.held() == 0);
        assertThat(ran).containsExactly(1, 6, 3, 7);
        assertThat(guard.released()).isEqualTo(6); // the four served and the two whose places were taken
    }

    @Test
    void aFullModelTurnsAnArrivalAwayUnreadUnlessARequestWaitsBelowTheBestLevelItCanHave() {
        ModelGuard guard = guard(3, admission(false), 3);
        Call running = new Call(guard, 1, 1);
        await().atMost(WAIT).until(() -> scheduler.runningRequests() == 1);
        Call queued1 = new Call(guard, 2, 1);
        Call queued2 = new Call(guard, 3, 1);
        assertThat(guard.turnsAway(0)).isNull(); // level 0 could take a place of level 1
        assertThat(guard.turnsAway()).isNull();
        assertThat(guard.turnsAway(1)).isNotNull(); // a tenant whose best is level 1 could not: turned away unread
        assertThat(guard.turnsAway(2)).isNotNull();
        runs.release(3);
        for (Call served : List.of(running, queued1, queued2)) {
            assertThat(served.result).succeedsWithin(WAIT);
        }
    }

    @Test
    void noArrivalTakesThePlaceAnExchangeFreesWhileItIsMade() {
        ModelGuard guard = guard(3, admission(false), 2);
        Call running = new Call(guard, 1, 1);
        await().atMost(WAIT).until(() -> scheduler.runningRequests() == 1);
        Call low1 = new Call(guard, 2, 1);
        Call low2 = new Call(guard, 3, 1);
        // the cut request is answered on this thread, inside the exchange, and its answer sends another request at
        // once: the place it gave back is already the exchanging arrival's, so that one is turned away
        List<Call> sentOnTheAnswer = new CopyOnWriteArrayList<>();
        List<Integer> heldThen = new CopyOnWriteArrayList<>();
        low2.result.whenComplete((r, t) -> {
            heldThen.add(guard.held());
            sentOnTheAnswer.add(new Call(guard, 4, 1));
        });
        Call high = new Call(guard, 5, 0);
        assertThat(low2.result).isCompletedExceptionally();
        assertThat(heldThen).containsExactly(3);
        assertThat(sentOnTheAnswer).hasSize(1);
        assertThat(sentOnTheAnswer.get(0).result).failsWithin(WAIT).withThrowableThat().havingCause()
                .isInstanceOfSatisfying(InferenceException.Unavailable.class, u -> assertThat(u.getMessage())
                        .isEqualTo("model 'm' is at capacity (3 requests admitted)"));
        assertThat(guard.held()).isEqualTo(3);

        runs.release(3);
        for (Call served : List.of(running, high, low1)) {
            assertThat(served.result).succeedsWithin(WAIT);
        }
        await().atMost(WAIT).until(() -> guard.held() == 0);
        assertThat(ran).containsExactly(1, 5, 2);
    }

    @Test
    void aFullBulkheadStartsTheSheddingBeforeAnExchangeWhichTakesAPlaceInWhatTheCutLeaves() {
        ModelGuard guard = guard(4, new ModelSettings.Admission(3, Duration.ofMinutes(1), false, 4, 0.5,
                Duration.ofSeconds(7), new ModelSettings.Adaptive(false, 1, 2.0, 10), new ModelSettings.Shedding(true, 1, 1)),
                3);
        Call running = new Call(guard, 1, 2);
        await().atMost(WAIT).until(() -> scheduler.runningRequests() == 1);
        // a request of the arrival's own level, older than it, and two of a lower one
        List<Call> queued = List.of(new Call(guard, 2, 1), new Call(guard, 3, 2), new Call(guard, 4, 2));
        assertThat(guard.shedding()).isFalse();

        // the full bulkhead starts the shedding, whose cut to one leaves 2 alone; 5 then takes no place of its own level
        Call arrival = new Call(guard, 5, 1);
        assertThat(guard.shedding()).isTrue();
        for (Call cut : queued.subList(1, 3)) {
            assertThat(cut.result).failsWithin(WAIT).withThrowableThat().havingCause()
                    .isInstanceOfSatisfying(InferenceException.Unavailable.class, u -> assertThat(u.getMessage())
                            .startsWith("model 'm' is overloaded").doesNotContain("took this one's place"));
        }
        assertThat(arrival.result).failsWithin(WAIT).withThrowableThat().havingCause()
                .isInstanceOfSatisfying(InferenceException.Unavailable.class, u -> assertThat(u.getMessage())
                        .startsWith("model 'm' is overloaded"));
        assertThat(queued.get(0).result).isNotDone();
        // a higher level takes the shedding queue's one place from 2
        Call high = new Call(guard, 6, 0);
        assertThat(queued.get(0).result).failsWithin(WAIT).withThrowableThat().havingCause()
                .isInstanceOfSatisfying(InferenceException.Unavailable.class, u -> assertThat(u.getMessage())
                        .endsWith(": a request of a higher priority level took this one's place"));
        await().atMost(WAIT).until(() -> guard.held() == 2 && scheduler.queueDepth() == 1);

        runs.release(2);
        assertThat(running.result).succeedsWithin(WAIT);
        assertThat(high.result).succeedsWithin(WAIT);
        await().atMost(WAIT).until(() -> guard.held() == 0);
        assertThat(ran).containsExactly(1, 6);
    }

    @Test
    void whileSheddingAHigherLevelTakesAPlaceInTheSheddingQueueFromALowerOne() {
        ModelGuard guard = guard(3, new ModelSettings.Admission(3, Duration.ofMinutes(1), false, 4, 0.5,
                Duration.ofSeconds(7), new ModelSettings.Adaptive(false, 1, 2.0, 10), new ModelSettings.Shedding(true, 1, 1)),
                2);
        Call running = new Call(guard, 1, 1);
        await().atMost(WAIT).until(() -> scheduler.runningRequests() == 1);
        Call queued = new Call(guard, 2, 1);
        Call queued2 = new Call(guard, 3, 1);
        Call overflow = new Call(guard, 4, 1); // the bulkhead is full: the model sheds, and cuts its queue to one
        assertThat(overflow.result).failsWithin(WAIT);
        assertThat(queued2.result).failsWithin(WAIT);
        assertThat(guard.shedding()).isTrue();
        await().atMost(WAIT).until(() -> guard.held() == 2 && scheduler.queueDepth() == 1);

        Call high = new Call(guard, 5, 0); // the shedding queue's one place: taken from 2
        assertThat(queued.result).failsWithin(WAIT).withThrowableThat().havingCause()
                .isInstanceOfSatisfying(InferenceException.Unavailable.class, u -> assertThat(u.getMessage())
                        .isEqualTo("model 'm' is overloaded: until it catches up it queues at most 1 request: a request"
                                + " of a higher priority level took this one's place"));
        assertThat(guard.held()).isEqualTo(2);
        Call high2 = new Call(guard, 6, 0); // its own level: turned away
        assertThat(high2.result).failsWithin(WAIT);

        runs.release(2);
        assertThat(running.result).succeedsWithin(WAIT);
        assertThat(high.result).succeedsWithin(WAIT);
        await().atMost(WAIT).until(() -> guard.held() == 0);
        assertThat(ran).containsExactly(1, 5);
    }

    @Test
    void atAFullAdaptiveLimitAHigherLevelTakesTheSlotOfAQueuedRequestOfALowerOne() {
        ModelGuard guard = guard(4, new ModelSettings.Admission(3, Duration.ofMinutes(1), false, 4, 0.5,
                Duration.ofSeconds(7), new ModelSettings.Adaptive(true, 2, 2.0, 10), new ModelSettings.Shedding(false, 1, 1)),
                2);
        AdaptiveLimit adaptive = guard.adaptive();
        assertThat(adaptive.limit()).isEqualTo(2);
        Call running = new Call(guard, 1, 1);
        await().atMost(WAIT).until(() -> scheduler.runningRequests() == 1);
        Call low = new Call(guard, 2, 1);
        Call lowToo = new Call(guard, 3, 1); // its own level: refused by the limit, as before
        assertThat(lowToo.result).failsWithin(WAIT).withThrowableThat().havingCause()
                .isInstanceOfSatisfying(InferenceException.Unavailable.class, u -> assertThat(u.getMessage())
                        .isEqualTo("model 'm' is at its adaptive concurrency limit (2 requests admitted)"));

        assertThat(guard.turnsAway()).isNull(); // a lower level waits: the arrival's level decides, once read
        Call high = new Call(guard, 4, 0);
        assertThat(low.result).failsWithin(WAIT).withThrowableThat().havingCause()
                .isInstanceOfSatisfying(InferenceException.Unavailable.class, u -> {
                    assertThat(u.reason()).isEqualTo(InferenceException.Unavailable.Reason.BULKHEAD_FULL);
                    assertThat(u.getMessage()).isEqualTo("model 'm' is at its adaptive concurrency limit (2 requests"
                            + " admitted): a request of a higher priority level took this one's place");
                });
        assertThat(guard.turnsAway()).isNotNull(); // nothing below the highest level waits now: turned away unread
        assertThat(high.result).isNotDone();
        assertThat(adaptive.inflight()).isEqualTo(2);
        assertThat(guard.held()).isEqualTo(2);

        runs.release(2);
        assertThat(running.result).succeedsWithin(WAIT);
        assertThat(high.result).succeedsWithin(WAIT);
        await().atMost(WAIT).until(() -> guard.held() == 0 && adaptive.inflight() == 0);
        assertThat(ran).containsExactly(1, 4);
    }

    @Test
    void aCapacityOfHalfTheIntegersOrMoreStillGetsItsGuard() {
        // SmallRye adds its queue slot to the work permits, twice the capacity where that fits: never past the integers
        ModelGuard guard = guard((1 << 30) + 1, admission(false));
        Call one = call(guard, 1);
        runs.release(1);
        assertThat(one.result).succeedsWithin(WAIT);
    }

    @Test
    void aFailureAsTheCallEntersGivesItsPlaceBack() {
        guard(1, admission(false)); // the scheduler; the guard under test reads a clock that fails once
        java.util.concurrent.atomic.AtomicBoolean failed = new java.util.concurrent.atomic.AtomicBoolean();
        ModelGuard guard = new ModelGuard("m", 1, admission(false), scheduler, () -> {
            if (failed.compareAndSet(false, true)) {
                throw new OutOfMemoryError("as the call enters");
            }
            return clock.get();
        }, System::nanoTime);
        assertThat(call(guard, 1).result).failsWithin(WAIT).withThrowableThat().havingCause()
                .isInstanceOf(OutOfMemoryError.class);
        assertThat(guard.held()).isZero(); // else lost for good: one place of one, bulkhead_full from then on
        runs.release(1);
        assertThat(call(guard, 2).result).succeedsWithin(WAIT);
        assertThat(ran).containsExactly(2);
    }

    @Test
    void aFailureWhileAFailedCallIsBeingToldStillAnswersIt() {
        AtomicBoolean armed = new AtomicBoolean();
        ModelGuard guard = guardWithAClockThatFailsWhenArmed(admission(false), armed);
        AtomicReference<UniEmitter<? super InferResponse>> work = new AtomicReference<>();
        Call failing = heldCall(guard, work, clock.get() + Duration.ofHours(1).toNanos());

        armed.set(true);
        work.get().fail(new InferenceException.RuntimeFailure("the model failed", null));
        assertThat(failing.result).failsWithin(WAIT).withThrowableThat().havingCause()
                .isInstanceOf(InferenceException.RuntimeFailure.class);
        assertThat(armed).as("the clock's failing read came").isFalse();
        assertThat(guard.held()).isZero(); // and its place given back
        runs.release(1);
        assertThat(call(guard, 2).result).succeedsWithin(WAIT);
    }

    @Test
    void aFailureWhileASuccessIsBeingToldToTheAdaptiveLimitStillAnswersItAndGivesItsSlotBack() {
        AtomicBoolean armed = new AtomicBoolean();
        ModelGuard guard = guardWithAClockThatFailsWhenArmed(new ModelSettings.Admission(1, Duration.ofMinutes(1), false,
                4, 0.5, Duration.ofSeconds(7), new ModelSettings.Adaptive(true, 2, 2.0, 10),
                new ModelSettings.Shedding(false, 1, 1)), armed);
        AtomicReference<UniEmitter<? super InferResponse>> work = new AtomicReference<>();
        Call answered = heldCall(guard, work, InferRequest.NO_DEADLINE);
        assertThat(guard.adaptive().inflight()).isEqualTo(1);

        armed.set(true);
        work.get().complete(new InferResponse("m", "1", null, Map.of(), List.of()));
        assertThat(answered.result).succeedsWithin(WAIT);
        assertThat(armed).as("the clock's failing read came").isFalse();
        await().atMost(WAIT).until(() -> guard.adaptive().inflight() == 0); // else its slot is taken for good
    }

    /** A guard over the scheduler {@link #guard} makes, whose clock throws once when {@code armed}, then disarms. */
    private ModelGuard guardWithAClockThatFailsWhenArmed(ModelSettings.Admission a, AtomicBoolean armed) {
        guard(1, a); // the scheduler
        return new ModelGuard("m", 1, a, scheduler, () -> {
            if (armed.compareAndSet(true, false)) {
                throw new OutOfMemoryError("a read of the clock while armed");
            }
            return clock.get();
        }, System::nanoTime);
    }

    /** A call whose work, once started, waits for the test to end it through {@code work}. */
    private Call heldCall(ModelGuard guard, AtomicReference<UniEmitter<? super InferResponse>> work, long deadline) {
        Call call = new Call(guard, queueDeadline -> Uni.createFrom().<InferResponse>emitter(work::set), deadline);
        await().atMost(WAIT).until(() -> work.get() != null);
        return call;
    }

    @Test
    void retryAfterIsNeverLongerThanTheAdmissionTimeout() {
        ModelGuard guard = guard(4, admission(false)); // admission.timeout 1 min
        runs.release(1);
        assertThat(call(guard, HOUR_LONG).result).succeedsWithin(WAIT); // the model now takes an hour a row
        List<Call> calls = List.of(call(guard, 1), call(guard, 2), call(guard, 3), call(guard, 4), call(guard, 5));
        // four rows an hour each would drain in 4 h; no request waits longer than the timeout, so 1 min
        assertThat(calls.get(4).result).failsWithin(WAIT).withThrowableThat().havingCause()
                .isInstanceOfSatisfying(InferenceException.Unavailable.class,
                        u -> assertThat(u.retryAfter()).isEqualTo(Duration.ofMinutes(1)));
    }

    @Test
    void aFullQueuesRetryAfterIsNeverLongerThanTheAdmissionTimeoutEither() {
        ModelGuard guard = guard(3, admission(false)); // admission.timeout 1 min; the scheduler queues 3
        runs.release(1);
        assertThat(call(guard, HOUR_LONG).result).succeedsWithin(WAIT); // the model now takes an hour a row
        runPastTheGuard(10);
        for (int queued = 11; queued <= 13; queued++) {
            scheduler.submit(pastTheGuard(queued)); // work the guard did not admit fills the queue
        }
        // the guard admits it; the scheduler's queue is full, with four rows of an hour each before it
        assertThat(scheduler.retryAfter()).isEqualTo(Duration.ofHours(4));
        assertThat(call(guard, 1).result).failsWithin(WAIT).withThrowableThat().havingCause()
                .isInstanceOfSatisfying(InferenceException.Unavailable.class, u -> {
                    assertThat(u.reason()).isEqualTo(InferenceException.Unavailable.Reason.QUEUE_FULL);
                    assertThat(u.retryAfter()).isEqualTo(Duration.ofMinutes(1));
                    assertThat(u.getMessage()).contains("queue is full");
                });
    }

    @Test
    void permitsComeBackAfterErrorsCancellationsAndDeadlines() {
        ModelGuard guard = guard(4, admission(false));
        Call running = call(guard, 1);
        await().atMost(WAIT).until(() -> scheduler.inflight() == 1);
        Call cancelled = call(guard, 2);
        Call expiring = new Call(guard, 3, clock.get() + 1_000);
        Call failing = call(guard, FAIL);
        assertThat(guard.held()).isEqualTo(4);

        cancelled.subscription.cancel();
        await().atMost(WAIT).until(() -> guard.held() == 3);
        assertThat(scheduler.queueDepth()).isEqualTo(2); // the cancelled call left the queue

        clock.addAndGet(2_000); // the deadline of call 3 passes while it is queued
        runs.release(2); // call 1 runs, then the failing call; call 3 is dropped in between
        assertThat(running.result).succeedsWithin(WAIT);
        assertThat(expiring.result).failsWithin(WAIT).withThrowableThat().havingCause()
                .isInstanceOf(InferenceException.DeadlineExceeded.class);
        assertThat(failing.result).failsWithin(WAIT).withThrowableThat().havingCause()
                .isInstanceOf(InferenceException.RuntimeFailure.class);
        await().atMost(WAIT).until(() -> guard.held() == 0);
        assertThat(guard.released()).isEqualTo(4); // each permit exactly once
        assertThat(ran).containsExactly(1, FAIL);

        // the whole capacity is free again
        List<Call> again = List.of(call(guard, 5), call(guard, 6), call(guard, 7), call(guard, 8));
        assertThat(guard.held()).isEqualTo(4);
        runs.release(4);
        again.forEach(c -> assertThat(c.result).succeedsWithin(WAIT));
        await().atMost(WAIT).until(() -> guard.held() == 0);
    }

    @Test
    void aCancelThatLandsWhileTheWorkIsBeingStartedStillCancelsTheWork() {
        ModelGuard guard = guard(4, admission(false));
        AtomicReference<UniSubscription> outer = new AtomicReference<>();
        AtomicBoolean workCancelled = new AtomicBoolean();
        guard.run(() -> {
            outer.get().cancel(); // the caller goes away after the guard checked, before the work is subscribed
            return Uni.createFrom().emitter(e -> e.onTermination(() -> workCancelled.set(true)));
        }).subscribe().withSubscriber(keeping(outer));
        assertThat(outer.get()).as("the guard subscribed").isNotNull();
        // the work started for a caller who had gone is cancelled
        await().atMost(WAIT).untilTrue(workCancelled);
        await().atMost(WAIT).until(() -> guard.held() == 0);
        assertThat(guard.released()).isEqualTo(1);
    }

    /**
     * Four callers race for a guard of two places, with short runs: every call is served or turned away at once, every
     * place comes back, and none waits in SmallRye's bulkhead (checked after each test), where SmallRye Fault Tolerance
     * 6.10.1 could strand it. Before the guard took its places itself, an arrival that found both running was queued
     * there, the trace's "Work semaphore not acquired" each time.
     */
    @Test
    void callersRacingForTheLastPlacesAreServedOrTurnedAwayAndNeverWaitInSmallRyesBulkhead() throws Exception {
        ModelGuard guard = guard(2, admission(false));
        runs.release(1000);
        int callers = 4;
        int callsEach = 100;
        AtomicInteger served = new AtomicInteger();
        AtomicInteger turnedAway = new AtomicInteger();
        List<Throwable> other = new CopyOnWriteArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(callers);
        try {
            List<Future<?>> done = new java.util.ArrayList<>();
            for (int c = 0; c < callers; c++) {
                int caller = c;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < callsEach; i++) {
                        try {
                            call(guard, caller * 1000 + i).result.get(WAIT.toSeconds(), TimeUnit.SECONDS);
                            served.incrementAndGet();
                        } catch (ExecutionException e) {
                            if (e.getCause() instanceof InferenceException.Unavailable u
                                    && u.reason() == InferenceException.Unavailable.Reason.BULKHEAD_FULL) {
                                turnedAway.incrementAndGet();
                            } else {
                                other.add(e.getCause());
                            }
                        } catch (Exception e) {
                            other.add(e);
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(WAIT.toSeconds() * 3, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(other).isEmpty();
        assertThat(served.get() + turnedAway.get()).isEqualTo(callers * callsEach);
        await().atMost(WAIT).until(() -> guard.held() == 0);
        assertThat(guard.released()).isEqualTo(served.get());
        assertThat(ran).hasSize(served.get());
        assertThat(trace.lines).as("the trace this test's check reads").anyMatch(line -> line.contains("Work semaphore acquired"));
    }

    @Test
    void anErrorTheWorkThrowsAsItStartsGivesThePlaceBack() {
        ModelGuard guard = guard(2, admission(false));
        CompletableFuture<InferResponse> failed = new CompletableFuture<>();
        guard.run(queueDeadline -> {
            throw new StackOverflowError("started too deep");
        }, Long.MAX_VALUE).subscribe().with(failed::complete, failed::completeExceptionally);
        assertThat(failed).failsWithin(WAIT).withThrowableThat().havingCause().isInstanceOf(StackOverflowError.class);
        // SmallRye's bulkhead catches only exceptions: the Error would have skipped its onFinished, and the place
        await().atMost(WAIT).until(() -> guard.held() == 0);
        assertThat(guard.released()).isEqualTo(1);
    }

    /** A call that holds its place, without the model, until its subscription is cancelled. */
    private static Cancellable hold(ModelGuard guard) {
        return guard.run(queueDeadline -> Uni.createFrom().nothing(), InferRequest.NO_DEADLINE).subscribe()
                .with(r -> { }, e -> { });
    }

    @Test
    void whileTheBreakerIsNotClosedAFullCountIsTurnedAwayAsTheBreakerWouldAndStartsNoShedding() {
        ModelGuard guard = guard(3, new ModelSettings.Admission(1, Duration.ofMinutes(1), true, 4, 0.5,
                Duration.ofSeconds(2), new ModelSettings.Adaptive(false, 1, 2.0, 10), new ModelSettings.Shedding(true, 1, 1)));
        runs.release(3);
        for (int i = 0; i < 3; i++) {
            assertThat(call(guard, FAIL).result).failsWithin(WAIT);
        }
        List<Cancellable> holders = List.of(hold(guard), hold(guard)); // let in by the closed breaker, still running
        Call fourth = call(guard, FAIL);
        runs.release(1);
        assertThat(fourth.result).failsWithin(WAIT); // 4 of 4 failed: the breaker opens
        assertCircuitOpen(guard);
        await().atMost(WAIT).until(() -> guard.turnsAway() == null); // its delay has passed
        Call trial = call(guard, 5); // the half-open breaker's trial takes the last place
        await().atMost(WAIT).until(() -> scheduler.inflight() == 1);

        // the places are full, but the model is not overloaded: it is proving itself
        assertThat(guard.turnsAway()).satisfies(u -> {
            assertThat(u.reason()).isEqualTo(InferenceException.Unavailable.Reason.CIRCUIT_OPEN);
            assertThat(u.retryAfter()).isEqualTo(Duration.ofSeconds(2));
        });
        assertThat(call(guard, 6).result).failsWithin(WAIT).withThrowableThat().havingCause()
                .isInstanceOfSatisfying(InferenceException.Unavailable.class,
                        u -> assertThat(u.reason()).isEqualTo(InferenceException.Unavailable.Reason.CIRCUIT_OPEN));
        assertThat(guard.shedding()).isFalse();

        runs.release(1);
        assertThat(trial.result).succeedsWithin(WAIT); // the trial's success closes the breaker
        holders.forEach(Cancellable::cancel);
        await().atMost(WAIT).until(() -> guard.held() == 0);
        assertThat(guard.turnsAway()).isNull();
        assertThat(ran).endsWith(FAIL, 5);
    }

    /**
     * A call of the guard made on a thread inside another call's admission (as when the bulkhead starts another
     * arrival's work on this thread, that work fails at once, and its caller sends its next request from there):
     * each keeps its own place.
     */
    @Test
    void aCallMadeInsideAnotherCallsAdmissionLeavesBothTheirPlaces() {
        ModelGuard guard = guard(2, admission(false));
        AtomicReference<Call> inner = new AtomicReference<>();
        Call outer = new Call(guard, queueDeadline -> {
            inner.set(call(guard, 2));
            return work(1, queueDeadline);
        }, Long.MAX_VALUE);
        assertThat(guard.held()).isEqualTo(2);
        assertThat(guard.turnsAway()).isNotNull();

        runs.release(2);
        assertThat(inner.get().result).succeedsWithin(WAIT);
        assertThat(outer.result).succeedsWithin(WAIT);
        await().atMost(WAIT).until(() -> guard.held() == 0);
        assertThat(guard.released()).isEqualTo(2);
        assertThat(ran).containsExactly(2, 1);
    }

    /** A subscriber that keeps its subscription in {@code into}, to cancel, and ignores what comes. */
    private static UniSubscriber<InferResponse> keeping(AtomicReference<UniSubscription> into) {
        return new UniSubscriber<>() {
            @Override
            public void onSubscribe(UniSubscription subscription) {
                into.set(subscription);
            }

            @Override
            public void onItem(InferResponse item) { }

            @Override
            public void onFailure(Throwable failure) { }
        };
    }

    /** A thread named {@code name} that runs {@code call} and is held in SmallRye's bulkhead as it accepts the call. */
    private Thread heldAsTheBulkheadAccepts(String name, Runnable call) throws InterruptedException {
        trace.hold(name, "Capacity semaphore acquired");
        Thread caller = new Thread(call, name);
        caller.start();
        assertThat(trace.reached()).as(name + " reached the bulkhead").isTrue();
        return caller;
    }

    @Test
    void aTrialItsClientCancelsBeforeItsWorkStartsReopensTheCircuit() throws Exception {
        ModelGuard guard = halfOpen();
        AtomicReference<UniSubscription> subscription = new AtomicReference<>();
        AtomicBoolean started = new AtomicBoolean();
        Thread trial = heldAsTheBulkheadAccepts("trial", () -> guard.run(queueDeadline -> {
            started.set(true);
            return Uni.createFrom().nothing();
        }, InferRequest.NO_DEADLINE).subscribe().withSubscriber(keeping(subscription)));
        // the half-open breaker let the trial through; its client goes away before the bulkhead starts its work
        subscription.get().cancel();
        trace.letGo();
        trial.join(WAIT.toMillis());

        await().atMost(WAIT).until(() -> guard.held() == 0);
        assertThat(started).as("the trial's work").isFalse();
        // SmallRye would count the cancelled trial as a success and close the breaker on no evidence
        assertCircuitOpen(guard);
    }

    @Test
    void aCallTheClosedBreakerLetInIsNoTrialThoughTheBreakerOpensBeforeItsWorkStarts() throws Exception {
        ModelGuard guard = guard(8, admission(true));
        runs.release(3);
        for (int i = 0; i < 3; i++) {
            assertThat(call(guard, FAIL).result).failsWithin(WAIT);
        }
        AtomicReference<Call> late = new AtomicReference<>();
        Thread caller = heldAsTheBulkheadAccepts("late", () -> late.set(call(guard, 5)));
        // the fourth failure of four opens the breaker while the closed breaker's call waits to be started
        Call fourth = call(guard, FAIL);
        runs.release(1);
        assertThat(fourth.result).failsWithin(WAIT);
        assertCircuitOpen(guard);
        trace.letGo();
        caller.join(WAIT.toMillis());
        await().atMost(WAIT).until(() -> scheduler.inflight() == 1);

        // taken for the half-open breaker's trial, it would run on without its client and keep its place
        late.get().subscription.cancel();
        await().atMost(WAIT).until(() -> guard.held() == 0);
        assertCircuitOpen(guard);
    }

    @Test
    void runtimeFailuresOpenTheCircuitAndClientErrorsDoNot() {
        ModelGuard guard = guard(8, admission(true));
        runs.release(1000);
        for (int i = 0; i < 8; i++) { // client errors never count as failures of the model
            assertThat(call(guard, CLIENT_ERROR).result).failsWithin(WAIT).withThrowableThat().havingCause()
                    .isInstanceOf(InferenceException.InvalidInput.class);
        }
        assertThat(call(guard, 7).result).succeedsWithin(WAIT);
        // the breaker's window is the last 4 calls, all fine so far; 2 runtime failures make 2 of 4 = 0.5
        for (int i = 0; i < 2; i++) {
            assertThat(call(guard, FAIL).result).failsWithin(WAIT).withThrowableThat().havingCause()
                    .isInstanceOf(InferenceException.RuntimeFailure.class);
        }
        Call prevented = call(guard, 1);
        assertThat(prevented.result).failsWithin(WAIT).withThrowableThat().havingCause()
                .isInstanceOfSatisfying(InferenceException.Unavailable.class, u -> {
                    assertThat(u.reason()).isEqualTo(InferenceException.Unavailable.Reason.CIRCUIT_OPEN);
                    // turned away by the breaker's mirror before it takes a place: what is left of the 7 s
                    assertThat(u.retryAfter()).isPositive().isLessThanOrEqualTo(Duration.ofSeconds(7));
                });
        assertThat(ran).doesNotContain(1);
        await().atMost(WAIT).until(() -> guard.held() == 0);
        // and from counts alone, before a request is read: with what is left of the 7 s as Retry-After
        InferenceException.Unavailable early = guard.turnsAway();
        assertThat(early).isNotNull();
        assertThat(early.reason()).isEqualTo(InferenceException.Unavailable.Reason.CIRCUIT_OPEN);
        assertThat(early.retryAfter()).isPositive().isLessThanOrEqualTo(Duration.ofSeconds(7));
    }

    @Test
    void timeoutsBehindAHungRunOpenTheCircuit() {
        // a hung run: no run is let go, so each call meets the guard's timeout; 4 of them fill the breaker's window
        ModelGuard guard = guard(8, new ModelSettings.Admission(1, Duration.ofMillis(100), true, 4, 0.5,
                Duration.ofSeconds(30)));
        Call first = call(guard, 10);
        // in the model, waiting to be let go: its start is read from the clock before the minute passes
        await().atMost(WAIT).until(() -> scheduler.inflight() == 1 && instance.getState() == Thread.State.TIMED_WAITING);
        clock.addAndGet(Duration.ofMinutes(1).toNanos()); // the run has gone on for a minute, on the model's clock
        List<Call> calls = new java.util.ArrayList<>(List.of(first));
        for (int i = 1; i < 4; i++) {
            calls.add(call(guard, 10 + i));
        }
        for (Call c : calls) {
            assertThat(c.result).failsWithin(WAIT).withThrowableThat().havingCause()
                    .isInstanceOf(InferenceException.DeadlineExceeded.class);
        }
        assertCircuitOpen(guard);
    }

    @Test
    void timeoutsInAQueueOfShortRunsLeaveTheCircuitClosed() {
        // the same timeouts while the run in progress is young (the model's clock stands still): requests that
        // waited behind a deep queue, not a model that fails
        ModelGuard guard = guard(8, new ModelSettings.Admission(1, Duration.ofMillis(100), true, 4, 0.5,
                Duration.ofSeconds(30)));
        for (int i = 0; i < 6; i++) {
            assertThat(call(guard, 10 + i).result).failsWithin(WAIT).withThrowableThat().havingCause()
                    .isInstanceOf(InferenceException.DeadlineExceeded.class);
        }
        assertThat(scheduler.longestRunNanos()).isZero();
        assertThat(guard.turnsAway()).isNull();
    }

    @Test
    void anOpenCircuitTurnsArrivalsAwayEarlyOnlyUntilItsDelayHasPassed() {
        // open, then after the delay the arrival goes on to the breaker, which lets a trial call through
        ModelGuard guard = halfOpen();
        runs.release(1000);
        assertThat(call(guard, 5).result).succeedsWithin(WAIT); // the trial's success closes it
        assertThat(ran).endsWith(5);
        assertThat(guard.turnsAway()).isNull();
        assertThat(call(guard, 6).result).succeedsWithin(WAIT);
    }

    /**
     * Opens the breaker with 4 failures and waits out its 2 s delay (so that no pause of a busy machine outlasts it
     * before the first check): the next call is its trial.
     */
    private ModelGuard halfOpen() {
        return halfOpen(Duration.ofMinutes(1));
    }

    /** {@link #halfOpen()} with this {@code admission.timeout}. */
    private ModelGuard halfOpen(Duration timeout) {
        return halfOpen(new ModelSettings.Admission(1, timeout, true, 4, 0.5, Duration.ofSeconds(2)));
    }

    /** {@link #halfOpen()} with these admission settings, whose breaker opens on 4 failures. */
    private ModelGuard halfOpen(ModelSettings.Admission admission) {
        ModelGuard guard = guard(8, admission);
        runs.release(4);
        for (int i = 0; i < 4; i++) {
            assertThat(call(guard, FAIL).result).failsWithin(WAIT).withThrowableThat().havingCause()
                    .isInstanceOf(InferenceException.RuntimeFailure.class);
        }
        assertThat(guard.turnsAway()).extracting(InferenceException.Unavailable::reason)
                .isEqualTo(InferenceException.Unavailable.Reason.CIRCUIT_OPEN);
        await().atMost(WAIT).until(() -> guard.turnsAway() == null);
        return guard;
    }

    /** The half-open breaker's trial of {@code value}, whose client gives up while its run waits for the test. */
    private void cancelledTrial(ModelGuard guard, int value) {
        Call trial = call(guard, value);
        await().atMost(WAIT).until(() -> scheduler.inflight() == 1);
        trial.subscription.cancel();
        // before, SmallRye counted the cancel as the trial's success and closed the breaker on no evidence
        assertThat(guard.held()).as("the trial runs on, holding its permit").isEqualTo(1);
    }

    @Test
    void aTrialCallItsClientCancelsRunsOnAndItsSuccessClosesTheCircuit() {
        ModelGuard guard = halfOpen();
        cancelledTrial(guard, 5);

        runs.release(1); // the model answers the trial: the breaker closes, the permit comes back
        await().atMost(WAIT).until(() -> guard.held() == 0);
        assertThat(ran).endsWith(5);
        runs.release(1000);
        assertThat(guard.turnsAway()).isNull();
        assertThat(call(guard, 6).result).succeedsWithin(WAIT);
        assertThat(call(guard, 7).result).succeedsWithin(WAIT);
    }

    @Test
    void warmupPassesAnAnswerThroughTheGuardWithoutRunningTheModelOrTeachingTheAdaptiveLimit() {
        ModelGuard guard = guard(8, new ModelSettings.Admission(1, Duration.ofMinutes(1), true, 4, 0.5,
                Duration.ofSeconds(2), new ModelSettings.Adaptive(true, 8, 2.0, 1), new ModelSettings.Shedding(false, 1, 1)));
        AdaptiveLimit adaptive = guard.adaptive();
        InferResponse answer = new InferResponse("m", "1", "warmup", java.util.Map.of(), List.of(tensor(3)));
        clock.addAndGet(1_000); // before the pass, which takes no time on this clock: a latency it taught would be 0
        assertThat(guard.warm(answer).await().atMost(WAIT)).isSameAs(answer);
        assertThat(ran).as("no run").isEmpty();
        assertThat(guard.held()).isZero();
        assertThat(adaptive.inflight()).isZero();
        assertThat(adaptive.noLoadNanos()).as("nothing learned").isEqualTo(Long.MAX_VALUE);

        clock.addAndGet(3_000_000);
        runs.release(1);
        assertThat(call(guard, 5).result).succeedsWithin(WAIT); // a run is learned from as before
        await().atMost(WAIT).until(() -> adaptive.inflight() == 0);
        assertThat(adaptive.noLoadNanos()).isNotEqualTo(Long.MAX_VALUE);
    }

    @Test
    void aTrialItsClientCancelsKeepsItsAdaptiveSlotUntilItEnds() {
        ModelGuard guard = halfOpen(new ModelSettings.Admission(1, Duration.ofMinutes(1), true, 4, 0.5,
                Duration.ofSeconds(2), new ModelSettings.Adaptive(true, 8, 2.0, 1), new ModelSettings.Shedding(false, 1, 1)));
        AdaptiveLimit adaptive = guard.adaptive();
        cancelledTrial(guard, 5);
        assertThat(adaptive.inflight()).as("the trial still runs in its slot").isEqualTo(1);

        clock.addAndGet(3_000_000);
        runs.release(1);
        await().atMost(WAIT).until(() -> guard.held() == 0 && adaptive.inflight() == 0);
        assertThat(adaptive.noLoadNanos()).as("learned from the trial's own run").isEqualTo(3_000_000);
    }

    @Test
    void aTrialCallItsClientCancelsRunsOnAndItsFailureReopensTheCircuit() {
        ModelGuard guard = halfOpen();
        cancelledTrial(guard, FAIL);

        runs.release(1); // the model fails the trial: open again for another delay
        await().atMost(WAIT).until(() -> guard.held() == 0);
        assertCircuitOpen(guard);
    }

    @ParameterizedTest(name = "its caller cancels: {0}")
    @ValueSource(booleans = {false, true})
    void aTrialWhoseDeadlinePassesInTheQueueStillRunsAndItsFailureReopensTheCircuit(boolean callerCancels) {
        ModelGuard guard = halfOpen();
        runPastTheGuard(7); // the instance is busy with it until the test lets it go
        Call trial = new Call(guard, FAIL, clock.get() + Duration.ofMillis(1).toNanos());
        clock.addAndGet(Duration.ofSeconds(1).toNanos()); // the trial's deadline passes while it waits behind 7
        if (callerCancels) {
            trial.subscription.cancel(); // the client gives up at its deadline; the trial waits on behind 7
            assertThat(guard.held()).as("the trial holds its permit until it has run").isEqualTo(1);
        }

        runs.release(2);
        // before, the scheduler answered the trial 504 unrun, SmallRye counted that as a success and closed the breaker
        if (!callerCancels) {
            assertThat(trial.result).failsWithin(WAIT).withThrowableThat().havingCause()
                    .isInstanceOf(InferenceException.RuntimeFailure.class);
        }
        await().atMost(WAIT).until(() -> guard.held() == 0);
        assertThat(ran).containsExactly(FAIL, FAIL, FAIL, FAIL, 7, FAIL);
        assertCircuitOpen(guard);
    }

    @Test
    void aTrialTheFullQueueTurnsAwayReopensTheCircuit() {
        ModelGuard guard = halfOpen();
        runPastTheGuard(7);
        for (int i = 0; i < 8; i++) { // the scheduler's queue of 8, filled past the guard
            scheduler.submit(pastTheGuard(20 + i));
        }
        Call trial = call(guard, 5);
        assertThat(trial.result).failsWithin(WAIT).withThrowableThat().havingCause()
                .isInstanceOfSatisfying(InferenceException.Unavailable.class,
                        u -> assertThat(u.reason()).isEqualTo(InferenceException.Unavailable.Reason.QUEUE_FULL));
        // before, SmallRye counted the unrun trial's 503 as a success and closed the breaker
        await().atMost(WAIT).until(() -> guard.held() == 0);
        assertCircuitOpen(guard);
    }

    @Test
    void aHalfOpenToldAfterTheTrialsCloseLeavesTheMirrorClosed() {
        // SmallRye tells open -> half-open from its timer thread, the trial's close from the caller's: out of order,
        // the late half-open must not leave every later call taken for a trial (no deadline in the queue)
        ModelGuard guard = guard(8, admission(true));
        guard.circuitChanged(io.smallrye.faulttolerance.api.CircuitBreakerState.OPEN);
        assertCircuitOpen(guard);
        guard.circuitChanged(io.smallrye.faulttolerance.api.CircuitBreakerState.CLOSED);
        guard.circuitChanged(io.smallrye.faulttolerance.api.CircuitBreakerState.HALF_OPEN);
        assertThat(guard.turnsAway()).isNull();

        runPastTheGuard(7);
        Call late = new Call(guard, 5, clock.get() + Duration.ofMillis(1).toNanos());
        clock.addAndGet(Duration.ofSeconds(1).toNanos()); // its deadline passes while it waits behind 7
        runs.release(1);
        assertThat(late.result).failsWithin(WAIT).withThrowableThat().havingCause()
                .isInstanceOf(InferenceException.DeadlineExceeded.class);
        assertThat(ran).containsExactly(7);
    }

    @Test
    void aHalfOpenToldAfterTheTrialsReopeningLeavesTheMirrorOpen() {
        // the timer's half-open, told after the trial failed and the breaker opened again: the mirror must go on
        // turning arrivals away, with the rest of the new delay, until the breaker's next half-open
        ModelGuard guard = guard(8, admission(true)); // a delay of 7 s
        guard.circuitChanged(io.smallrye.faulttolerance.api.CircuitBreakerState.OPEN);
        guard.circuitChanged(io.smallrye.faulttolerance.api.CircuitBreakerState.HALF_OPEN);
        assertCircuitOpen(guard);
        assertThat(guard.turnsAway().retryAfter()).isGreaterThan(Duration.ofSeconds(3));
    }

    @Test
    void aHalfOpenToldHalfTheDelayAfterTheMirrorOpenedIsTheBreakersOwnAndKept() {
        // the cut-off between a stale half-open (of the previous opening) and the breaker's own, on both sides
        circuitClock = new AtomicLong();
        ModelGuard guard = guard(8, admission(true)); // a delay of 7 s
        guard.circuitChanged(io.smallrye.faulttolerance.api.CircuitBreakerState.OPEN);
        circuitClock.set(Duration.ofMillis(3_499).toNanos());
        guard.circuitChanged(io.smallrye.faulttolerance.api.CircuitBreakerState.HALF_OPEN); // stale: dropped
        assertCircuitOpen(guard);
        assertThat(guard.turnsAway().retryAfter()).isEqualTo(Duration.ofMillis(3_501));

        circuitClock.set(Duration.ofMillis(3_500).toNanos());
        guard.circuitChanged(io.smallrye.faulttolerance.api.CircuitBreakerState.HALF_OPEN); // the breaker's: kept
        assertThat(guard.turnsAway()).isNull(); // arrivals go on to the breaker, which lets its trial through
    }

    @Test
    void aTrialTheSheddingCutsFromTheQueueReopensTheCircuit() {
        ModelGuard guard = halfOpen();
        runPastTheGuard(7);
        Call trial = call(guard, 5);
        await().atMost(WAIT).until(() -> scheduler.queueDepth() == 1);
        // what a shedding model does to its queue when an arrival finds it full (ModelGuard.rejection)
        scheduler.trimQueue(0, () -> new InferenceException.Unavailable(
                InferenceException.Unavailable.Reason.BULKHEAD_FULL, "model 'm' is overloaded", Duration.ofSeconds(1)));
        assertThat(trial.result).failsWithin(WAIT).withThrowableThat().havingCause()
                .isInstanceOf(InferenceException.Unavailable.class);
        await().atMost(WAIT).until(() -> guard.held() == 0);
        assertCircuitOpen(guard);
    }

    @Test
    void aTrialThatMeetsTheAdmissionTimeoutInAQueueOfShortRunsReopensTheCircuit() {
        // outside a trial such a timeout is not the model failing (timeoutsInAQueueOfShortRunsLeaveTheCircuitClosed);
        // a trial's must not close the breaker, so it reopens it
        // 3 s, so that no pause of a busy machine turns one of the 4 failures that open the breaker into a timeout
        ModelGuard guard = halfOpen(Duration.ofSeconds(3));
        runPastTheGuard(7);
        Call trial = call(guard, 5);
        assertThat(trial.result).failsWithin(WAIT).withThrowableThat().havingCause()
                .isInstanceOf(InferenceException.DeadlineExceeded.class);
        assertThat(scheduler.longestRunNanos()).isZero();
        await().atMost(WAIT).until(() -> guard.held() == 0);
        assertCircuitOpen(guard);
    }

    @Test
    void theAdaptiveLimitTurnsAwayWhatIsOverItAndLearnsOnlyFromAnsweredRequests() {
        ModelGuard guard = guard(8, new ModelSettings.Admission(8, Duration.ofMinutes(1), false, 4, 0.5,
                Duration.ofSeconds(7), new ModelSettings.Adaptive(true, 2, 2.0, 1), new ModelSettings.Shedding(false, 1, 1)));
        AdaptiveLimit adaptive = guard.adaptive();
        Call first = call(guard, 1);
        Call second = call(guard, 2);
        Call third = call(guard, 3);
        // it starts at min-limit 2, far below the capacity of 8: the third call is refused before the bulkhead
        assertThat(guard.limit()).isEqualTo(2);
        assertThat(third.result).failsWithin(WAIT).withThrowableThat().havingCause()
                .isInstanceOfSatisfying(InferenceException.Unavailable.class, u -> {
                    assertThat(u.reason()).isEqualTo(InferenceException.Unavailable.Reason.BULKHEAD_FULL);
                    assertThat(u.retryAfter()).isPositive();
                    assertThat(u.getMessage()).contains("model 'm' is at its adaptive concurrency limit (2 requests");
                });
        assertThat(guard.held()).isEqualTo(2);
        assertThat(adaptive.inflight()).isEqualTo(2);

        second.subscription.cancel(); // gives its slot back and teaches nothing
        await().atMost(WAIT).until(() -> adaptive.inflight() == 1);
        assertThat(adaptive.noLoadNanos()).isEqualTo(Long.MAX_VALUE);

        clock.addAndGet(5_000_000); // call 1 is answered 5 ms after its admission
        runs.release(1);
        assertThat(first.result).succeedsWithin(WAIT);
        await().atMost(WAIT).until(() -> adaptive.inflight() == 0);
        assertThat(adaptive.noLoadNanos()).isEqualTo(5_000_000);

        Call failing = call(guard, FAIL); // a runtime failure is a drop: the slot comes back, no latency learned
        clock.addAndGet(1_000_000);
        runs.release(1);
        assertThat(failing.result).failsWithin(WAIT).withThrowableThat().havingCause()
                .isInstanceOf(InferenceException.RuntimeFailure.class);
        await().atMost(WAIT).until(() -> adaptive.inflight() == 0 && guard.held() == 0);
        assertThat(adaptive.noLoadNanos()).isEqualTo(5_000_000);
        assertThat(ran).containsExactly(1, FAIL);
    }

    @Test
    void aFullBulkheadSwitchesToTheSheddingQueueUntilTheInstancesIdleForAWindow() {
        ModelGuard guard = guard(4, new ModelSettings.Admission(3, Duration.ofMinutes(1), false, 4, 0.5,
                Duration.ofSeconds(7), new ModelSettings.Adaptive(false, 1, 2.0, 10), new ModelSettings.Shedding(true, 1, 1)));
        List<Call> admitted = List.of(call(guard, 1), call(guard, 2), call(guard, 3), call(guard, 4));
        await().atMost(WAIT).until(() -> scheduler.runningRequests() == 1 && scheduler.queueDepth() == 3);
        assertThat(guard.shedding()).isFalse();
        Call overflow = call(guard, 5); // the 4 places are held: turned away, and the model sheds
        assertThat(overflow.result).failsWithin(WAIT).withThrowableThat().havingCause()
                .isInstanceOfSatisfying(InferenceException.Unavailable.class,
                        u -> assertThat(u.getMessage()).contains("model 'm' is at capacity (4 requests admitted)"));
        assertThat(guard.shedding()).isTrue();
        // the queue is cut to the shedding queue's one: 3 and 4, queued last, are answered at once
        for (Call cut : admitted.subList(2, 4)) {
            assertThat(cut.result).failsWithin(WAIT).withThrowableThat().havingCause()
                    .isInstanceOfSatisfying(InferenceException.Unavailable.class, u -> {
                        assertThat(u.reason()).isEqualTo(InferenceException.Unavailable.Reason.BULKHEAD_FULL);
                        assertThat(u.getMessage()).contains("model 'm' is overloaded");
                    });
        }
        await().atMost(WAIT).until(() -> guard.held() == 2 && scheduler.queueDepth() == 1);
        assertThat(guard.limit()).isEqualTo(2); // the one running and a queue of one
        Call overQueue = call(guard, 6); // 2 held: under the capacity of 4, but 1 of them waits
        assertThat(overQueue.result).failsWithin(WAIT).withThrowableThat().havingCause()
                .isInstanceOfSatisfying(InferenceException.Unavailable.class, u -> {
                    assertThat(u.reason()).isEqualTo(InferenceException.Unavailable.Reason.BULKHEAD_FULL);
                    assertThat(u.retryAfter()).isPositive();
                    assertThat(u.getMessage()).contains(
                            "model 'm' is overloaded: until it catches up it queues at most 1 request");
                });

        runs.release(1);
        assertThat(admitted.get(0).result).succeedsWithin(WAIT);
        await().atMost(WAIT).until(() -> guard.held() == 1 && scheduler.runningRequests() == 1);
        Call queued = call(guard, 7); // nothing waits: admitted, and waits itself
        // a whole window later, but the instance never waited for work: still shedding
        clock.addAndGet(ShedMode.WINDOW_NANOS);
        Call overQueueAgain = call(guard, 8);
        assertThat(overQueueAgain.result).failsWithin(WAIT);
        assertThat(guard.held()).isEqualTo(2);
        assertThat(guard.shedding()).isTrue();

        runs.release(2);
        assertThat(admitted.get(1).result).succeedsWithin(WAIT);
        assertThat(queued.result).succeedsWithin(WAIT);
        await().atMost(WAIT).until(() -> guard.held() == 0 && waiting() == 1);
        // idle for a whole window: the first arrival after it ends the shedding
        clock.addAndGet(ShedMode.WINDOW_NANOS);
        Call caughtUp = call(guard, 9);
        assertThat(guard.shedding()).isFalse();
        assertThat(guard.limit()).isEqualTo(4);
        List<Call> more = List.of(call(guard, 10), call(guard, 11), call(guard, 12));
        assertThat(guard.held()).isEqualTo(4);
        runs.release(4);
        assertThat(caughtUp.result).succeedsWithin(WAIT);
        more.forEach(c -> assertThat(c.result).succeedsWithin(WAIT));
        await().atMost(WAIT).until(() -> guard.held() == 0);
        assertThat(guard.released()).isEqualTo(4 + 1 + 4);
        assertThat(ran).containsExactly(1, 2, 7, 9, 10, 11, 12);
    }

    @Test
    void anArrivalTheAdaptiveLimitRefusesWhileSheddingCountsAsTurnedAwayAndKeepsTheSheddingOn() {
        ModelGuard guard = guard(2, new ModelSettings.Admission(1, Duration.ofMinutes(1), false, 4, 0.5,
                Duration.ofSeconds(7), new ModelSettings.Adaptive(true, 1, 2.0, 1), new ModelSettings.Shedding(true, 1, 1)));
        AdaptiveLimit adaptive = guard.adaptive();
        for (int i = 1; adaptive.limit() < 2; i++) { // answers at the no-load latency grow the limit to the capacity
            assertThat(i).isLessThan(10);
            Call one = call(guard, i);
            runs.release(1);
            assertThat(one.result).succeedsWithin(WAIT);
            await().atMost(WAIT).until(() -> guard.held() == 0 && adaptive.inflight() == 0);
        }
        Call failing = call(guard, FAIL);
        Call queued = call(guard, 100);
        await().atMost(WAIT).until(() -> scheduler.runningRequests() == 1 && scheduler.queueDepth() == 1);
        assertThat(call(guard, 101).result).failsWithin(WAIT); // the bulkhead is full: the model sheds
        assertThat(guard.shedding()).isTrue();
        runs.release(1); // the failure is a drop: the limit backs off to 1, below the capacity
        assertThat(failing.result).failsWithin(WAIT);
        await().atMost(WAIT).until(() -> guard.held() == 1 && scheduler.runningRequests() == 1);
        assertThat(adaptive.limit()).isEqualTo(1);

        // the bulkhead and the shedding queue have room, the adaptive limit has none: turned away, and counted so,
        // whether before the request is read (turnsAway) or as it takes its place (run)
        ShedMode shed = guard.shedMode();
        assertThat(shed.windowCounts()).containsExactly(0, 0);
        assertThat(guard.turnsAway()).isNotNull().extracting(Throwable::getMessage).asString()
                .contains("model 'm' is at its adaptive concurrency limit (1 requests");
        assertThat(shed.windowCounts()).as("arrivals, turned away").containsExactly(1, 1);
        assertThat(call(guard, 102).result).failsWithin(WAIT).withThrowableThat().havingCause()
                .isInstanceOfSatisfying(InferenceException.Unavailable.class, u -> assertThat(u.getMessage())
                        .contains("model 'm' is at its adaptive concurrency limit (1 requests"));
        assertThat(shed.windowCounts()).containsExactly(2, 2);
        runs.release(1);
        assertThat(queued.result).succeedsWithin(WAIT);
        await().atMost(WAIT).until(() -> guard.held() == 0 && adaptive.inflight() == 0);
        Call admitted = call(guard, 104); // room again: admitted, and it holds the instance
        await().atMost(WAIT).until(() -> scheduler.runningRequests() == 1);
        assertThat(shed.windowCounts()).containsExactly(3, 2);
        // a window later the instance never waited, and two of its three arrivals were turned away: still shedding
        clock.addAndGet(ShedMode.WINDOW_NANOS);
        guard.turnsAway(); // the first arrival after the window judges it
        assertThat(guard.shedding()).isTrue();
        runs.release(1);
        assertThat(admitted.result).succeedsWithin(WAIT);
        await().atMost(WAIT).until(() -> guard.held() == 0);
        assertThat(ran).endsWith(FAIL, 100, 104);
    }

    @Test
    void turnsAwayDecidesFromTheCountsAloneAndTakesNothing() {
        ModelGuard guard = guard(4, new ModelSettings.Admission(3, Duration.ofMinutes(1), false, 4, 0.5,
                Duration.ofSeconds(7), new ModelSettings.Adaptive(false, 1, 2.0, 10), new ModelSettings.Shedding(true, 1, 1)));
        assertThat(guard.turnsAway()).isNull();
        assertThat(guard.held()).isZero();
        List<Call> admitted = List.of(call(guard, 1), call(guard, 2), call(guard, 3), call(guard, 4));
        await().atMost(WAIT).until(() -> scheduler.runningRequests() == 1 && guard.held() == 4);

        // the 4 places are held: turned away as run() would, and the full bulkhead starts the shedding,
        // which cuts the scheduler's queue to one (3 and 4 are answered)
        assertThat(guard.turnsAway()).satisfies(u -> {
            assertThat(u.reason()).isEqualTo(InferenceException.Unavailable.Reason.BULKHEAD_FULL);
            assertThat(u.getMessage()).contains("model 'm' is at capacity (4 requests admitted)");
            assertThat(u.retryAfter()).isPositive();
        });
        assertThat(guard.shedding()).isTrue();
        for (Call cut : admitted.subList(2, 4)) {
            assertThat(cut.result).failsWithin(WAIT).withThrowableThat().havingCause()
                    .isInstanceOf(InferenceException.Unavailable.class);
        }
        await().atMost(WAIT).until(() -> guard.held() == 2 && scheduler.queueDepth() == 1);
        // one waits, the shedding queue's one: turned away, and still nothing taken
        assertThat(guard.turnsAway()).satisfies(u -> assertThat(u.getMessage()).contains("model 'm' is overloaded"));
        assertThat(guard.held()).isEqualTo(2);

        runs.release(1);
        assertThat(admitted.get(0).result).succeedsWithin(WAIT);
        await().atMost(WAIT).until(() -> guard.held() == 1 && scheduler.runningRequests() == 1);
        // still shedding, but nothing waits: the arrival may go on, and run() admits it
        assertThat(guard.shedding()).isTrue();
        assertThat(guard.turnsAway()).isNull();
        Call next = call(guard, 5);
        assertThat(guard.held()).isEqualTo(2);
        runs.release(2);
        assertThat(admitted.get(1).result).succeedsWithin(WAIT);
        assertThat(next.result).succeedsWithin(WAIT);
        await().atMost(WAIT).until(() -> guard.held() == 0);
        assertThat(ran).containsExactly(1, 2, 5);
    }

    @Test
    void aCallCancelledAtItsDeadlineTeachesTheAdaptiveLimitADrop() {
        ModelGuard guard = guard(8, new ModelSettings.Admission(8, Duration.ofMinutes(1), false, 4, 0.5,
                Duration.ofSeconds(7), new ModelSettings.Adaptive(true, 4, 2.0, 10), new ModelSettings.Shedding(false, 1, 1)));
        AdaptiveLimit adaptive = guard.adaptive();
        long deadline = clock.get() + 10_000_000;
        Call running = new Call(guard, 1, Long.MAX_VALUE);
        Call early = new Call(guard, 2, deadline);
        Call late = new Call(guard, 3, deadline);
        assertThat(adaptive.inflight()).isEqualTo(3);
        early.subscription.cancel(); // the client left before its deadline: says nothing about load
        assertThat(adaptive.drops()).isZero();
        clock.addAndGet(10_000_000); // the deadline: the caller's timer cancels the call
        late.subscription.cancel();
        assertThat(adaptive.drops()).isEqualTo(1);
        await().atMost(WAIT).until(() -> adaptive.inflight() == 1);
        runs.release(1);
        assertThat(running.result).succeedsWithin(WAIT);
        await().atMost(WAIT).until(() -> guard.held() == 0 && adaptive.inflight() == 0);
        assertThat(adaptive.drops()).isEqualTo(1);
        assertThat(adaptive.noLoadNanos()).isEqualTo(10_000_000); // call 1 took 10 ms

        // a deadline the model could not meet even unloaded (1 ms against 2 x 10 ms) teaches nothing
        Call hopeless = new Call(guard, 4, clock.get() + 1_000_000);
        Call fair = new Call(guard, 5, clock.get() + 20_000_000);
        clock.addAndGet(1_000_000); // only the hopeless deadline: the scheduler may not expire the fair one yet
        hopeless.subscription.cancel();
        assertThat(adaptive.drops()).isEqualTo(1);
        // a deadline it could have met: a drop, whether the caller's timer cancels it or the scheduler expires it first
        clock.addAndGet(19_000_000);
        fair.subscription.cancel();
        await().atMost(WAIT).until(() -> adaptive.drops() == 2);
        assertThat(adaptive.drops()).isEqualTo(2);
        // the caller's clock started before the server's: a cancel in the deadline's last quarter is it too
        Call nearly = new Call(guard, 6, clock.get() + 20_000_000);
        clock.addAndGet(16_000_000); // 4 of 20 ms left
        nearly.subscription.cancel();
        await().atMost(WAIT).until(() -> adaptive.drops() == 3);
        Call leaving = new Call(guard, 7, clock.get() + 20_000_000);
        clock.addAndGet(14_000_000); // 6 of 20 ms left: the client left on its own
        leaving.subscription.cancel();
        assertThat(adaptive.drops()).isEqualTo(3);
    }

    @Test
    void turnsAwayAtTheAdaptiveLimitWithoutTakingASlot() {
        ModelGuard guard = guard(8, new ModelSettings.Admission(8, Duration.ofMinutes(1), false, 4, 0.5,
                Duration.ofSeconds(7), new ModelSettings.Adaptive(true, 1, 2.0, 1), new ModelSettings.Shedding(false, 1, 1)));
        Call first = call(guard, 1);
        assertThat(guard.adaptive().inflight()).isEqualTo(1);
        assertThat(guard.turnsAway()).satisfies(u -> assertThat(u.getMessage())
                .contains("model 'm' is at its adaptive concurrency limit (1 requests admitted)"));
        assertThat(guard.adaptive().inflight()).isEqualTo(1);
        clock.addAndGet(1_000_000);
        runs.release(1);
        assertThat(first.result).succeedsWithin(WAIT);
        await().atMost(WAIT).until(() -> guard.adaptive().inflight() == 0);
        assertThat(guard.turnsAway()).isNull();
    }

    /** Instances waiting for work now: each adds a nanosecond of idle time per nanosecond. */
    private long waiting() {
        long now = clock.get();
        return scheduler.idleNanos(now + 1) - scheduler.idleNanos(now);
    }

    @Test
    void withoutTheAdaptiveLimitTheLimitIsTheBulkheadsCapacity() {
        ModelGuard guard = guard(3, admission(false));
        assertThat(guard.adaptive()).isNull();
        assertThat(guard.limit()).isEqualTo(guard.capacity()).isEqualTo(3);
    }

    private static Tensor tensor(int value) {
        return new Tensor("X", Datatype.INT32, new long[] {1},
                ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, value));
    }
}
