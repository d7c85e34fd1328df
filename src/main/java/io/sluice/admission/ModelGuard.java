package io.sluice.admission;

import io.sluice.batching.ModelScheduler;
import io.sluice.config.ModelSettings;
import io.sluice.inference.InferRequest;
import io.sluice.inference.InferResponse;
import io.sluice.inference.InferenceException;
import io.smallrye.faulttolerance.api.CircuitBreakerState;
import io.smallrye.faulttolerance.api.Guard;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.Cancellable;
import jakarta.enterprise.util.TypeLiteral;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.eclipse.microprofile.faulttolerance.exceptions.BulkheadException;
import org.eclipse.microprofile.faulttolerance.exceptions.TimeoutException;

/**
 * One model's guard, built from its settings with SmallRye Fault Tolerance's programmatic {@link
 * Guard}: a bulkhead of {@code max-concurrent + queue-size} requests (executing or waiting in the
 * scheduler, whose priority order then decides who runs), a timeout, and a circuit breaker that
 * counts only failures of the model: runtime failures, and requests that time out while a run has gone on
 * for half the timeout or more (a hung run). A full bulkhead or an open breaker rejects at once; the
 * breaker's state changes are mirrored ({@link CircuitMirror}), so {@link #turnsAway()} answers an open breaker before the
 * request is read.
 * {@link #capacity()} is {@code max-concurrent + queue-size}. An arrival takes one of those places here, atomically,
 * before it reaches SmallRye's bulkhead, and gives it back only once the bulkhead has given back its own permit; the
 * bulkhead has a permit for each place, so it runs every call it is handed at once. Its one-slot waiting queue, which
 * SmallRye's asynchronous bulkhead cannot do without, is never waited in: in SmallRye Fault Tolerance 6.10.1 a call
 * put back in that queue can miss the wake-up of the permit that frees while it is out of the queue, and wait until
 * the bulkhead's next arrival or completion. The places are shared by every priority level, but an arrival that finds
 * none takes the place of a queued request of a lower level, if one waits ({@link #run(Work, long, int)}).
 *
 * <p>With {@code admission.shedding.enabled} (the default) a request that finds the bulkhead full
 * switches the model to shedding ({@link ShedMode}): it queues only {@code shedding.queue-size} requests
 * behind the running batches, runs batches of at most {@code shedding.max-batch-size} rows, until its
 * instances are idle again part of the time or it turns away almost nothing, and turns away the rest
 * the same way (503 {@code bulkhead_full}).
 *
 * <p>With {@code admission.adaptive.enabled} an {@link AdaptiveLimit} sits in front of the bulkhead and
 * rejects the same way (503 {@code bulkhead_full}) once its limit is reached; it learns from the latency
 * of every request it let in, from admission to answer.
 *
 * <p>The guard's own count is the only admission limit: a request that finds every place taken is turned away
 * before it reaches the bulkhead, without a {@link BulkheadException} and its stack trace, the largest cost of a
 * rejection under overload.
 *
 * <p>A place is held from admission until the request ends and is given back exactly once on every path. A call
 * the bulkhead accepted gives it back in the bulkhead's {@code onFinished}, which SmallRye runs once its guarded
 * stage completes: that stage is one future that the result, a failure, a cancellation, a deadline and the timeout
 * each complete (completing a future twice does nothing), and an {@link Error} the work throws as it starts
 * completes it too. A call the breaker refuses gives it back as soon as {@link Guard#get} returns.
 */
public final class ModelGuard {

    private static final TypeLiteral<CompletionStage<InferResponse>> STAGE = new TypeLiteral<>() {};
    /** A call's work once its permit is released: work started after that is cancelled by whoever starts it. */
    private static final Cancellable RELEASED = () -> { };

    private final int capacity;
    /**
     * SmallRye's work permits, and the most places the count may hold: a place each, and as many again for the places
     * an arrival of a higher level takes from queued requests whose calls have not ended yet ({@link #reserve}), where
     * that stays short of {@link Integer#MAX_VALUE} by the queue slot SmallRye adds to them.
     */
    private final int permits;
    private final CircuitMirror mirror;
    private final Rejections rejections;
    private final Guard guard;
    private final AdaptiveLimit adaptive;
    private final ShedMode shed;
    private final ModelScheduler scheduler;
    private final LongSupplier clock;
    /** Places taken: requests reserved or admitted, and not yet finished. */
    private final AtomicInteger held = new AtomicInteger();
    private final AtomicInteger released = new AtomicInteger();
    /** Set by the bulkhead, on the caller's thread, while {@link Guard#get} accepts that caller's call. */
    private final ThreadLocal<Boolean> accepted = new ThreadLocal<>();

    /**
     * The guard of a model with these settings.
     *
     * @param scheduler the model's scheduler
     */
    public static ModelGuard forModel(String model, ModelSettings settings, ModelScheduler scheduler) {
        return new ModelGuard(model, settings.capacity(), settings.admission(), scheduler, System::nanoTime);
    }

    /**
     * @param model the model's name, for messages
     * @param limit requests the guard lets into the scheduler at once: its {@link #capacity()}
     * @param a timeout and circuit breaker settings
     * @param scheduler the model's scheduler: how long its queue takes to drain (the Retry-After of a
     *     full bulkhead) and how long its instances wait for work (which ends the shedding)
     * @param clock nanoseconds, the scheduler's clock; for the latencies the adaptive limit learns from
     */
    public ModelGuard(String model, int limit, ModelSettings.Admission a, ModelScheduler scheduler,
            LongSupplier clock) {
        this(model, limit, a, scheduler, clock, System::nanoTime);
    }

    /** As above, with the mirror's clock of the breaker's open state given: for tests of the mirror alone. */
    ModelGuard(String model, int limit, ModelSettings.Admission a, ModelScheduler scheduler, LongSupplier clock,
            LongSupplier circuitClock) {
        // first: the breaker's callbacks, given to SmallRye below, read it
        this.mirror = new CircuitMirror(model, a.circuitDelay(), circuitClock);
        this.capacity = limit;
        this.permits = (int) Math.min(Integer.MAX_VALUE - 1L, 2L * limit); // a capacity is at most that (ModelSettings)
        Duration timeout = a.timeout();
        this.scheduler = scheduler;
        this.clock = clock;
        ModelSettings.Adaptive ad = a.adaptive();
        this.adaptive = ad.enabled()
                ? new AdaptiveLimit(Math.min(ad.minLimit(), capacity), capacity, ad.tolerance(), ad.window())
                : null;
        this.shed = a.shedding().enabled()
                ? new ShedMode(capacity, a.shedding(), scheduler.instances(), clock, scheduler::idleNanos,
                        scheduler::limitBatches)
                : null;
        this.rejections = new Rejections(model, capacity, timeout, scheduler, shed, adaptive, mirror);
        Guard.Builder builder = Guard.create()
                .withDescription("sluice model " + model)
                .withThreadOffload(false)
                // a work permit for each place (reserve), and for the places of exchanges in progress (reserve); the
                // queue SmallRye requires is never waited in
                .withBulkhead().limit(permits).queueSize(1)
                        .onAccepted(() -> accepted.set(Boolean.TRUE))
                        .onFinished(() -> {
                            held.decrementAndGet();
                            released.incrementAndGet();
                        })
                        .done()
                .withTimeout().duration(a.timeout().toMillis(), ChronoUnit.MILLIS).done();
        if (a.circuitBreaker()) {
            builder.withCircuitBreaker()
                    .requestVolumeThreshold(a.requestVolume())
                    .failureRatio(a.failureRatio())
                    .delay(a.circuitDelay().toMillis(), ChronoUnit.MILLIS)
                    // a run that fails, or a request that met admission.timeout while a run had gone on for half of
                    // it (a hung run; a request that only waited behind a deep queue of short runs is not the
                    // model failing); not a client's mistake, a rejection or a cancel (SmallRye counts those as
                    // successes; a trial the half-open breaker let in is neither cancelled nor expired, see run);
                    // and a trial the model never answered (UnrunTrial) or that met the timeout, which must not
                    // close the breaker
                    .when(t -> Rejections.unwrap(t) instanceof InferenceException.RuntimeFailure
                            || Rejections.unwrap(t) instanceof CircuitMirror.UnrunTrial
                            || Rejections.unwrap(t) instanceof TimeoutException
                                    && (!mirror.closed() || scheduler.longestRunNanos() >= timeout.toNanos() / 2))
                    .onStateChange(mirror::circuitChanged)
                    .done();
        }
        this.guard = builder.build();
    }

    /** Places held now: requests admitted (or being admitted) and not yet finished. */
    public int held() {
        return held.get();
    }

    /** Places given back by admitted requests since the start. */
    public int released() {
        return released.get();
    }

    /** Requests admitted at once (an exchange in progress may pass it for a moment: {@link #reserve}). */
    public int capacity() {
        return capacity;
    }

    /** The adaptive limit; null when it is off. */
    AdaptiveLimit adaptive() {
        return adaptive;
    }

    /** The shedding switch; null when the shedding is off. */
    ShedMode shedMode() {
        return shed;
    }

    /** Whether the model is shedding now (see {@link ShedMode}). */
    public boolean shedding() {
        return shed != null && shed.shedding();
    }

    /**
     * Requests let in at once now: the bulkhead's capacity, or while the model sheds the requests running
     * plus the shedding queue, or the adaptive limit when it is on and lower.
     */
    public int limit() {
        int limit = shed == null ? capacity : shed.limit(scheduler.runningRequests());
        return adaptive == null ? limit : Math.min(limit, adaptive.limit());
    }

    /**
     * The rejection an arrival gets now, or null to let it go on: an open circuit breaker, a full bulkhead,
     * the shedding queue full, or the adaptive limit reached. Decided from counts alone, before the request
     * is read, so a rejection costs no parsing; {@link #run} decides again once the request is read, and takes
     * its place atomically. An arrival turned away here counts as one for the shedding. A full bulkhead, shedding
     * queue or adaptive limit lets the arrival go on while a request waits in the queue below the highest priority
     * level: its own level, read with the request, may take that one's place ({@link #run(Work, long, int)}).
     */
    public InferenceException.Unavailable turnsAway() {
        return turnsAway(0);
    }

    /**
     * {@link #turnsAway()} for an arrival that can run at level {@code highest} at best (0 the highest), known before
     * it is read: a full model reads it only while a request waits below that level.
     */
    public InferenceException.Unavailable turnsAway(int highest) {
        InferenceException.Unavailable open = mirror.circuitOpen();
        if (open != null) {
            return open;
        }
        int now = held.get();
        if (!admits(now)) {
            return lowerLevelWaits(highest) ? null : turnedAway(now);
        }
        if (adaptive != null && adaptive.full() && !lowerLevelWaits(highest)) {
            if (shed != null) {
                shed.count(false); // turned away, as run counts one the adaptive limit refuses there
            }
            return rejections.adaptiveFull();
        }
        return null;
    }

    /** A guarded request's work, started once the guard lets it in. */
    @FunctionalInterface
    public interface Work {
        /**
         * Starts the work.
         *
         * @param queueDeadlineNanos the deadline the scheduler holds it to in its queue: the request's own, or
         *     {@link InferRequest#NO_DEADLINE} for the half-open breaker's trial (see {@link ModelGuard#run(Work, long)})
         */
        Uni<InferResponse> start(long queueDeadlineNanos);
    }

    /** The level of a call that takes no other's place: below every priority level. */
    public static final int NO_LEVEL = Integer.MAX_VALUE;

    /** {@link #run(Work, long)} for a request without a deadline. */
    public Uni<InferResponse> run(Supplier<Uni<InferResponse>> work) {
        return run(queueDeadline -> work.get(), InferRequest.NO_DEADLINE);
    }

    /**
     * Runs {@code work} under the guard. Rejections (bulkhead full, circuit open) come back as a failed
     * {@link Uni} before {@code work} is touched; cancelling the returned {@link Uni} cancels the work. A
     * cancellation at {@code deadlineNanos} (on the guard's clock; {@link InferRequest#cancelledAtDeadline}
     * allows for the caller's clock starting first) is the caller's deadline passing: the adaptive limit
     * counts it as a drop, as it counts a deadline the scheduler enforces,
     * when the deadline left at least {@code tolerance} times the model's no-load latency.
     *
     * <p>The half-open circuit breaker's trial runs whatever its caller does: cancelled, or past its deadline, the
     * caller gets its answer then, but the trial goes on, with no deadline in the scheduler's queue, until the model
     * itself answers or {@code admission.timeout} ends it. SmallRye counts a cancelled or expired call as a success,
     * and would close the breaker on a trial that never ran. A trial that still does not run (the scheduler's queue
     * full, the shedding cutting it, its caller gone before its work started) or that meets
     * {@code admission.timeout} reopens the breaker for another delay: only the model's answer closes it.
     */
    public Uni<InferResponse> run(Work work, long deadlineNanos) {
        return run(work, deadlineNanos, NO_LEVEL, true);
    }

    /**
     * {@link #run(Work, long)} for a request of priority level {@code level} (0 the highest). An arrival that finds the
     * bulkhead, the shedding queue or the adaptive limit full while the breaker is closed takes the place of the newest
     * queued request of the lowest level below its own, once: that request is answered at once with the 503 it would
     * have got had it come now ({@code bulkhead_full}, saying a request of a higher level took its place), and this one
     * goes on. Triton bounds each level's queue on its own; here the places are shared, and a higher level is not turned
     * away while a lower one waits in the queue.
     */
    public Uni<InferResponse> run(Work work, long deadlineNanos, int level) {
        return run(work, deadlineNanos, level, true);
    }

    /**
     * Passes {@code answer}, already there, through the guard once, as {@link #run} passes a request (its places,
     * SmallRye's bulkhead, timeout and breaker, which counts one success), so that a client's first request does not
     * load and interpret that code. For warmup, before the model serves: no model time (a run could outlast {@code
     * admission.timeout}, as warmup's may), and the adaptive limit is not told, since it learns its no-load latency from
     * the model's runs.
     *
     * @return {@code answer}, or the guard's refusal
     */
    public Uni<InferResponse> warm(InferResponse answer) {
        return run(queueDeadline -> Uni.createFrom().item(answer), InferRequest.NO_DEADLINE, NO_LEVEL, false);
    }

    /** {@link #run(Work, long, int)}; the adaptive limit learns from a success only when {@code learns}. */
    private Uni<InferResponse> run(Work work, long deadlineNanos, int level, boolean learns) {
        return Uni.createFrom().emitter(emitter -> {
            boolean[] watched = new boolean[1]; // made first: from the place on, nothing allocates outside the try
            boolean[] tookAPlace = new boolean[1];
            // all before the adaptive limit, which must not count what never ran; an open breaker takes no place
            InferenceException.Unavailable rejected = mirror.circuitOpen();
            if (rejected == null) {
                rejected = reserve(level, tookAPlace);
            }
            if (rejected != null) {
                emitter.fail(rejected);
                return;
            }
            boolean placeHeld = true;
            boolean slotHeld = false;
            try {
                boolean adaptiveRefuses = false;
                if (adaptive != null && !tookAPlace[0] && !adaptive.tryAcquire()) { // an exchange took its slot (reserve)
                    adaptiveRefuses = true;
                    if (mayTakeAPlace(level)) { // the slot first, as the place: no arrival takes what the cut frees
                        adaptive.acquirePast();
                        boolean took = false;
                        try {
                            took = scheduler.makeRoom(level, () -> Rejections.displaced(rejections.adaptiveFull()));
                        } finally {
                            if (!took) {
                                adaptive.ignored();
                            }
                        }
                        if (took) {
                            tookAPlace[0] = true;
                            adaptiveRefuses = false;
                        }
                    }
                }
                slotHeld = adaptive != null && !adaptiveRefuses;
                if (shed != null) {
                    if (tookAPlace[0]) {
                        shed.count(false); // the request whose place it took was turned away after all
                    }
                    shed.count(!adaptiveRefuses); // an arrival the adaptive limit refuses was turned away
                }
                if (adaptiveRefuses) {
                    held.decrementAndGet();
                    placeHeld = false;
                    emitter.fail(rejections.adaptiveFull());
                    return;
                }
                enter(emitter, work, deadlineNanos, learns, watched);
            } catch (RuntimeException | Error e) {
                if (watched[0]) {
                    throw e; // its termination gives the place and the slot back
                }
                // thrown before anything could give them back (an Error allocating, the clock, a meter): else lost for
                // good, and after capacity of them the model would answer bulkhead_full forever
                if (placeHeld) {
                    held.decrementAndGet();
                }
                if (slotHeld) {
                    adaptive.ignored();
                }
                emitter.fail(e);
            }
        });
    }

    /**
     * {@link #run}'s call once it holds a place (and an adaptive slot): through SmallRye's guard, the place and the
     * slot given back when the call ends. Sets {@code watched[0]} once its termination does that.
     */
    private void enter(io.smallrye.mutiny.subscription.UniEmitter<? super InferResponse> emitter, Work work,
            long deadlineNanos, boolean learns, boolean[] watched) {
        AdaptiveOutcome outcome = new AdaptiveOutcome(adaptive, clock, clock.getAsLong(), deadlineNanos, learns);
        CompletableFuture<InferResponse> done = new CompletableFuture<>();
        AtomicReference<Cancellable> running = new AtomicReference<>();
        AtomicBoolean trial = new AtomicBoolean(); // let through by the half-open breaker
        Runnable release = () -> {
            Cancellable c = running.getAndSet(RELEASED);
            if (c != null && c != RELEASED) {
                c.cancel();
            }
            done.cancel(false);
        };
        // after a failure: a deadline only if it has passed
        Runnable stop = () -> {
            release.run();
            if (outcome.deadlinePassed()) {
                outcome.missedDeadline();
            } else {
                outcome.ignored();
            }
        };
        // a cancellation (or the end after an outcome was told, when this tells nothing): the caller's
        // deadline if it came at it, the caller's clock having started first
        emitter.onTermination(() -> {
            if (trial.get() && !done.isDone()) {
                // the breaker's trial runs on without its caller: its own outcome, not the cancel, closes or
                // reopens the breaker (SmallRye would count the cancel as a success), and its permit and its
                // adaptive slot come back when it ends, which tells the adaptive limit how it went
                return;
            }
            // told before the release, whose cancelled stage would otherwise report a failure first
            if (outcome.cancelledAtDeadline()) {
                outcome.missedDeadline();
            } else {
                outcome.ignored();
            }
            release.run();
        });
        watched[0] = true;
        // a call the closed breaker lets in is no trial, though the breaker may open before its work starts (the
        // bulkhead may start it on another arrival's thread)
        boolean closedAtEntry = mirror.closed();
        CompletionStage<InferResponse> guarded = null;
        RuntimeException refused = null;
        // an answer given inside guard.get (another arrival's work, which the bulkhead may start on this thread,
        // failing at once) can bring a call of this guard on this thread before this one's get returns
        Boolean outer = accepted.get();
        accepted.remove();
        try {
            guarded = guard.get(() -> {
                // SmallRye is half-open before it lets the trial in, and may not have told us yet: a call it lets in
                // while the mirror still says open is the trial too
                boolean isTrial = !closedAtEntry && !mirror.closed();
                trial.set(isTrial);
                if (!done.isDone()) {
                    try {
                        Cancellable c = work.start(isTrial ? InferRequest.NO_DEADLINE : deadlineNanos).subscribe()
                                .with(done::complete, done::completeExceptionally);
                        if (!running.compareAndSet(null, c)) {
                            c.cancel(); // released while it was being started (a cancel, or SmallRye's timeout)
                        }
                    } catch (Throwable t) {
                        // SmallRye's bulkhead catches only exceptions: an Error would skip its release and onFinished
                        done.completeExceptionally(t);
                    }
                }
                return isTrial ? done.exceptionallyCompose(CircuitMirror::trialNotRun) : done;
            }, STAGE);
        } catch (RuntimeException e) {
            refused = e;
        } finally {
            unlessAccepted(outer); // whatever was thrown
        }
        if (refused != null) {
            stop.run();
            emitter.fail(rejections.translate(refused));
            return;
        }
        // answered whatever its bookkeeping throws (an OutOfMemoryError, which the stage would swallow): a throw here
        // would leave the caller without an answer and, after a failure, the place held
        guarded.whenComplete((response, failure) -> {
            if (failure == null) {
                try {
                    outcome.succeeded();
                } finally {
                    emitter.complete(response);
                }
            } else {
                Throwable t = failure;
                try {
                    t = rejections.translate(failure);
                    if (t instanceof InferenceException.DeadlineExceeded && outcome.deadlinePassed()) {
                        outcome.missedDeadline();
                    } else if (t instanceof InferenceException.DeadlineExceeded
                            || t instanceof InferenceException.RuntimeFailure) {
                        outcome.dropped(); // the guard's own timeout, or the model failing
                    }
                } finally {
                    try {
                        stop.run();
                    } finally {
                        emitter.fail(t);
                    }
                }
            }
        });
    }

    /**
     * Takes one of the places for an arrival (the {@link #capacity()}, or while the model sheds the fewer its
     * queue allows), or answers why it is turned away. The place is taken by a compare-and-set of the count the
     * decision read, so the capacity is overrun only by exchanges in progress (below) and the bulkhead always has a work
     * permit for the call (the shedding queue may be, by one, as {@link ShedMode} says: the running count is read beside
     * it). An arrival turned away here counts for the shedding once; one that takes a place counts in {@link #run}, once
     * the adaptive limit has let it in or turned it away. An arrival of {@code level} that finds no place takes the place
     * of a queued request of a lower level, if one waits ({@link #run(Work, long, int)}), and says so in {@code
     * tookAPlace}. It takes the place (and an adaptive slot) first, past the capacity, and then takes that request off
     * the queue, which gives its place and slot back as its call ends: at once on this thread, or on its own event loop a
     * moment later. So no other arrival takes the place in between, and the count passes the capacity only by the
     * exchanges in progress, at most {@link #permits} in all; the bulkhead has a work permit for each. A full bulkhead
     * starts the shedding before an exchange is made, as it does for an arrival turned away.
     */
    private InferenceException.Unavailable reserve(int level, boolean[] tookAPlace) {
        while (true) {
            int now = held.get();
            if (admits(now)) {
                if (held.compareAndSet(now, now + 1)) {
                    return null; // counted for the shedding once the adaptive limit has decided (run)
                }
                continue;
            }
            if (!mayTakeAPlace(level) || now >= permits) {
                return turnedAway(now);
            }
            // an overflow: a full bulkhead starts the shedding first, as for an arrival turned away, so that the exchange
            // takes a place within what the shedding's cut of the queue leaves, never one the cut would have taken
            if (shed != null && shed.turnedAway(now)) {
                scheduler.trimQueue(shed.queueSize(), rejections::overloaded);
                continue;
            }
            if (!held.compareAndSet(now, now + 1)) {
                continue;
            }
            boolean slot = false;
            boolean took = false;
            try {
                if (adaptive != null) {
                    adaptive.acquirePast(); // the request's adaptive slot too, before the cut frees it
                    slot = true;
                }
                took = scheduler.makeRoom(level,
                        () -> Rejections.displaced(now >= capacity ? rejections.full() : rejections.overloaded()));
            } finally {
                if (!took) { // nothing else would give them back: the call never starts
                    held.decrementAndGet();
                    if (slot) {
                        adaptive.ignored();
                    }
                }
            }
            if (took) {
                tookAPlace[0] = true;
                return null;
            }
            return turnedAway(now);
        }
    }

    /**
     * Gives the caller's place back if the guard did not let its call into the bulkhead (the circuit breaker
     * refused it); a call let in gives it back when the bulkhead is done with it ({@code onFinished}). Then puts
     * back {@code outer}, the flag of a call on this thread whose {@link Guard#get} this one ran inside.
     */
    private void unlessAccepted(Boolean outer) {
        if (accepted.get() == null) {
            held.decrementAndGet();
        }
        if (outer == null) {
            accepted.remove();
        } else {
            accepted.set(outer);
        }
    }

    /** {@link CircuitMirror#circuitChanged}: package-private for the tests of its order. */
    void circuitChanged(CircuitBreakerState state) {
        mirror.circuitChanged(state);
    }

    /**
     * Whether an arrival that finds {@code held} admitted may take a place, by the capacity and the shedding (which
     * may end here, at the first arrival after a window); counts nothing.
     */
    private boolean admits(int held) {
        return held < capacity && (shed == null || shed.judge(held, scheduler.runningRequests()));
    }

    /**
     * The rejection of an arrival that found {@code held} admitted and may not enter; counted for the shedding, which
     * a full bulkhead starts. While the breaker is not closed, a full count is the breaker's business (its trial, and
     * calls it is refusing, hold places for a moment): the breaker's rejection, and no shedding.
     */
    private InferenceException.Unavailable turnedAway(int held) {
        boolean full = held >= capacity;
        if (full && !mirror.closed()) {
            return mirror.refused();
        }
        if (shed != null) {
            shed.count(false);
            if (shed.turnedAway(held)) {
                // what the full bulkhead queued would wait behind all of it: keep the shedding queue's worth
                scheduler.trimQueue(shed.queueSize(), rejections::overloaded);
            }
        }
        return full ? rejections.full() : rejections.overloaded();
    }

    /**
     * Whether an arrival of {@code level} that finds no place may look for a queued request of a lower level's: the
     * breaker closed (while it is not, a full count is the breaker's business) and such a request queued, which on a
     * model of one level is known without the scheduler's lock.
     */
    private boolean mayTakeAPlace(int level) {
        return level != NO_LEVEL && mirror.closed() && scheduler.queuedBelow(level);
    }

    /**
     * Whether a full model should read an arrival that can run at level {@code highest} at best before it decides: a
     * request waits below that level, whose place the arrival might take. Takes the scheduler's lock when there are
     * levels below {@code highest}.
     */
    private boolean lowerLevelWaits(int highest) {
        return mirror.closed() && scheduler.queuedBelow(highest);
    }
}
