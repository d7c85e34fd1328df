package io.sluice.batching;

import io.sluice.inference.InferenceException;
import io.sluice.inference.Tensor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/**
 * The scheduler of one model: a bounded priority queue in front of N instance threads, each of which
 * takes the next batch from the {@link DynamicBatcher}, runs it, and hands every job its own rows.
 * Submitting never blocks: a full queue rejects at once. A failing batch fails only its own jobs.
 *
 * <p>A model whose runs are short enough ({@link CallerRuns}) may run a request on the thread that submits it, in
 * the place of an idle instance, when nothing is queued and requests come apart, not under load: then no thread is
 * woken to run it and none to answer it, which on a tiny model are most of the time a request spends in the server.
 * The instance is lent for that run, so no more than N runs are ever in progress, and the order, deadlines, meters
 * and failure handling are those of a batch of one an instance takes. Such a run that goes on past its overrun limit
 * (its input took the model down a long path, or it hangs) is stopped by the {@link CallerWatch} and runs again on the
 * instance, and the model's runs stay off the callers' threads from then on.
 *
 * <p>This class decides what runs where and when, under its lock; a {@link BatchExecutor} runs each batch and answers
 * its requests, and {@link RunMeters} keeps what the instances are doing and what a run costs.
 */
public final class ModelScheduler implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(ModelScheduler.class);
    private static final long NOT_IDLE = RunMeters.NOT_IDLE;
    private static final long FAILED_DECISION_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private final String model;
    private final DynamicBatcher batcher;
    private final int priorityLevels;
    private final LongSupplier clock;
    private final int instances;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final List<Thread> threads = new ArrayList<>();
    private final RunMeters meters;
    private final BatchExecutor executor;
    private final CallerRuns callerRuns;
    /** The answer to jobs the queue's trim cut when not even their failure can be made (out of memory). */
    private final InferenceException overloadedAsItStands;
    /** The answer to jobs still queued when the scheduler closes. */
    private final InferenceException shuttingDown;
    /** Under the lock: instance i's place is lent to a caller running a request in it, and i takes no batch. */
    private final boolean[] lent;
    /** Under the lock: places lent now. */
    private int lentCount;
    /** Under the lock: the thread instance i's place is lent to; null while not lent. */
    private final Thread[] callerOf;
    /** 1 for instance i once the {@link CallerWatch} stopped the run a caller makes in its place, until it gives it back. */
    private final AtomicIntegerArray overran;
    /** Under the lock: the watch failed to stop the caller's run in instance i's place (logged once), until it is given back. */
    private final boolean[] stopFailed;
    /** Runs callers have made in an instance's place. */
    private final AtomicLong callerRunCount = new AtomicLong();
    /** Set once a caller's run overran: every run of the model is an instance's from then on. */
    private volatile boolean callerRunsOff;
    /**
     * Under the lock: the requests a caller ran in instance i's place whose failure takes another run to answer (the
     * known-good probe), which the event loop leaves to i; with {@link #handedBackFailure}.
     */
    private final List<?>[] handedBack;
    private final InferenceException[] handedBackFailure;
    /** Under the lock: instance i's thread has ended (interrupted), so no caller takes its place. */
    private final boolean[] exited;
    /** Under the lock: when the last request was submitted, on {@link #clock}; {@link #NOT_IDLE} before the first. */
    private long lastArrival = NOT_IDLE;
    private volatile boolean closed;
    /** Whether the model's outputs turned out not to lead with a batch's rows, so that each request runs alone. */
    private volatile boolean stoppedBatching;

    public ModelScheduler(String model, BatchPolicy policy, int instances, BatchRunner runner,
            BatchListener listener, LongSupplier clock, ThreadFactory threadFactory) {
        this(model, policy, instances, runner, listener, clock, threadFactory, CallerRuns.NEVER);
    }

    public ModelScheduler(String model, BatchPolicy policy, int instances, BatchRunner runner,
            BatchListener listener, LongSupplier clock, ThreadFactory threadFactory, CallerRuns callerRuns) {
        this.model = model;
        this.callerRuns = callerRuns;
        this.overloadedAsItStands = new InferenceException.Unavailable(
                InferenceException.Unavailable.Reason.BULKHEAD_FULL, "model '" + model + "' is overloaded",
                Duration.ofSeconds(1));
        this.shuttingDown = new InferenceException.Unavailable(InferenceException.Unavailable.Reason.NOT_READY,
                "model '" + model + "' is shutting down", Duration.ofSeconds(1));
        this.lent = new boolean[instances];
        this.callerOf = new Thread[instances];
        this.overran = new AtomicIntegerArray(instances);
        this.stopFailed = new boolean[instances];
        this.handedBack = new List<?>[instances];
        this.handedBackFailure = new InferenceException[instances];
        this.exited = new boolean[instances];
        this.batcher = new DynamicBatcher(policy);
        this.priorityLevels = policy.priorityLevels();
        this.clock = clock;
        this.instances = instances;
        // both before the instances start, which use them from their first step
        this.meters = new RunMeters(clock, instances);
        this.executor = new BatchExecutor(model, runner, listener, clock, meters, overran, this::stopBatching);
        try {
            for (int i = 0; i < instances; i++) {
                int instance = i;
                Thread t = threadFactory.newThread(() -> serve(instance));
                t.start();
                threads.add(t);
            }
            if (callerRuns.stopsOverruns()) {
                CallerWatch.watch(this);
            }
        } catch (RuntimeException | Error e) { // a thread that cannot start: those started end at once, idle
            close(0);
            throw e;
        }
    }

    /**
     * Queues {@code job}. When the queue is full, the newest queued job of the lowest priority level below the job's
     * gives it its place: that job is failed at once (503, {@code QUEUE_FULL}) and this one queued.
     *
     * @throws InferenceException.Unavailable at once when the queue is full of jobs at the job's level or above it, or
     *     the scheduler closed
     */
    public void submit(Job job) {
        if (job.isDone()) {
            return; // cancelled before it came here (its caller went away as it subscribed): it takes no place
        }
        boolean mayRunHere = !callerRunsOff && callerRuns.maxNanos() > 0 && meters.expectedNanos(job) <= callerRuns.maxNanos()
                && callerRuns.mayRun().getAsBoolean();
        // made before the job can leave the queue: from there on nothing may fail to allocate before its run
        List<Job> alone = mayRunHere ? List.of(job) : null;
        int instance;
        Job displaced = null;
        lock.lock();
        try {
            if (closed) {
                throw new InferenceException.Unavailable(InferenceException.Unavailable.Reason.NOT_READY,
                        "model '" + model + "' is shutting down", Duration.ofSeconds(1));
            }
            boolean queueWasEmpty = batcher.size() == 0;
            long now = clock.getAsLong();
            long previous = lastArrival;
            lastArrival = now;
            if (!batcher.offer(job, now)) {
                // (not for a job cancelled since it came: answered below, whatever throws from here)
                displaced = job.isDone() ? null : batcher.cutBelow(job.level, now);
                if (displaced == null || !batcher.offer(job, now)) {
                    throw new InferenceException.Unavailable(InferenceException.Unavailable.Reason.QUEUE_FULL,
                            "model '" + model + "' queue is full (" + batcher.size() + " waiting)", retryAfter());
                }
            }
            // a request right behind the previous one is load: left to the instances, it queues, batches and runs
            // beside the event loop, which meanwhile reads the next (an event loop running each request itself would
            // serve a connection's requests one by one, on one core)
            boolean quiet = previous == NOT_IDLE || now - previous >= callerRuns.quietNanos();
            instance = mayRunHere && queueWasEmpty && quiet ? takeHere(job, now) : -1;
            if (instance < 0) {
                wakeAnInstance();
            }
        } finally {
            lock.unlock();
            if (displaced != null) {
                fail(displaced, () -> new InferenceException.Unavailable(InferenceException.Unavailable.Reason.QUEUE_FULL,
                        "model '" + model + "' queue is full: a request of a higher priority level took this one's place",
                        retryAfter()), overloadedAsItStands);
            }
        }
        if (instance >= 0) {
            runHere(alone, instance);
        }
    }

    /**
     * Lends an idle instance's place to the caller of {@link #submit}, if one is idle and the batcher would run
     * {@code job}, the only one queued, alone now (not past its deadline, not waiting for company): takes it off
     * the queue as that instance would, and returns the instance; -1, leaving it queued, otherwise. Under the lock.
     */
    private int takeHere(Job job, long now) {
        int instance = -1;
        for (int i = 0; i < lent.length && instance < 0; i++) {
            if (!lent[i] && !exited[i] && meters.idle(i)) { // waiting for work: none while lent
                instance = i;
            }
        }
        if (instance < 0 || job.expired(now) || callerRunsOff) { // off: read again, as the watch sets it under the lock
            return -1; // a job past its deadline is failed by an instance, as any other found so in the queue
        }
        DynamicBatcher.Decision decision;
        try {
            batcher.expect(meters.nanosPerRow(), meters.nanosPerByte());
            decision = batcher.next(now, new ArrayList<>(0));
        } catch (RuntimeException | Error e) { // out of memory deciding: the job is still queued, for an instance
            return -1;
        }
        if (!(decision instanceof DynamicBatcher.Run run)) {
            return -1; // waiting for company, or (cancelled meanwhile) dropped: the instances take it from here
        }
        lent[instance] = true; // the queue held only this job, so the run is this job alone
        lentCount++;
        callerOf[instance] = Thread.currentThread();
        // off the queue now, it runs here whatever throws, as a batch an instance took
        try {
            started(run.jobs(), instance);
        } catch (RuntimeException | Error e) {
            logQuietly(e, "a caller taking instance %d's turn of model %s: %s; it runs all the same", instance);
        }
        return instance;
    }

    /**
     * Runs {@code jobs}, one request, on this thread in the place of {@code instance}, then gives the place back. A
     * failure whose answer takes another run of the model goes back with it, for the instance to answer: the event
     * loop runs a request once, and no longer than its limit.
     */
    private void runHere(List<Job> jobs, int instance) {
        InferenceException handBack = null;
        callerRunCount.incrementAndGet();
        try {
            handBack = executor.execute(jobs, instance, null, true);
        } catch (RuntimeException | Error e) { // answered by execute; the caller is not the one to hear of it
            logQuietly(e, "a caller running instance %d's turn of model %s: %s", instance);
        } finally {
            boolean answerHere = false;
            lock.lock();
            try {
                lent[instance] = false;
                lentCount--;
                callerOf[instance] = null;
                overran.set(instance, 0);
                stopFailed[instance] = false;
                if (handBack != null && !exited[instance]) {
                    handedBack[instance] = jobs;
                    handedBackFailure[instance] = handBack;
                } else {
                    answerHere = handBack != null;
                    if (!exited[instance]) {
                        idleFromNow(instance); // its thread is still waiting for work
                    }
                }
                if (handBack != null || batcher.size() > 0 || closed) {
                    changed.signalAll(); // a signal it slept through while lent; a close its thread waits to end on
                }
            } finally {
                lock.unlock();
            }
            if (answerHere) { // its thread has gone: answered as the failure stands, for want of the probe
                failAsItStands(jobs, handBack == executor.movedOff ? shuttingDown : handBack);
            }
        }
    }

    /**
     * Marks a place given back as idle from now. A clock that fails (out of memory) leaves it unmarked, which only
     * keeps callers out of it until its thread, woken all the same, marks itself as it waits. Under the lock.
     */
    private void idleFromNow(int instance) {
        try {
            meters.idleFromNow(instance);
        } catch (RuntimeException | Error e) {
            logQuietly(e, "a caller giving back instance %d's place of model %s: %s; it serves on", instance);
        }
    }

    /**
     * Wakes an instance for a job just queued. While a place is lent its instance may be the one woken, and would
     * sleep on without the job: then all are woken. Under the lock.
     */
    private void wakeAnInstance() {
        if (lentCount > 0) {
            changed.signalAll();
        } else {
            changed.signal();
        }
    }

    /**
     * Takes {@code job} out of the queue if it is still there; it will never run. A job whose batch is
     * running stops counting as running now: its caller has gone, and its permit with it.
     */
    public void cancel(Job job) {
        if (!job.cancel()) {
            return;
        }
        lock.lock();
        try {
            if (batcher.remove(job)) {
                changed.signalAll(); // a batch another job held back (a lower level, another shape) may be ready
            } else {
                meters.stopRunning(job);
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Cuts the queue to {@code keep} requests: those that would run last are taken out and failed with
     * {@code failure}, newest first (a cancelled one is only dropped).
     */
    public void trimQueue(int keep, Supplier<InferenceException> failure) {
        List<Job> cut;
        lock.lock();
        try {
            cut = batcher.trim(keep);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        failAll(cut, failure, overloadedAsItStands);
    }

    /**
     * Takes the newest queued job of the lowest priority level below {@code level} (a larger index) off the queue and
     * fails it with {@code failure}, so that an arrival of {@code level} the guard would turn away takes its place;
     * false, taking nothing, when no job waits below that level (none but cancelled or expired ones), or once the
     * scheduler is closing, when the jobs still queued are drained.
     */
    public boolean makeRoom(int level, Supplier<InferenceException> failure) {
        long now;
        try {
            now = clock.getAsLong();
        } catch (RuntimeException e) {
            return false; // no time to tell a job past its deadline by: no exchange
        }
        Job cut;
        lock.lock();
        try {
            cut = closed ? null : batcher.cutBelow(level, now);
            if (cut != null) {
                changed.signalAll(); // as for a cancel: a batch the job held back may be ready
            }
        } finally {
            lock.unlock();
        }
        if (cut == null) {
            return false;
        }
        fail(cut, failure, overloadedAsItStands);
        return true;
    }

    /** Whether a job waits in the queue at a priority level below {@code level} (a larger index). */
    public boolean queuedBelow(int level) {
        if (level >= priorityLevels - 1) {
            return false; // no level below it: no lock taken (a model of one level, the default)
        }
        lock.lock();
        try {
            return batcher.queuedBelow(level);
        } finally {
            lock.unlock();
        }
    }

    /** Fails {@code job}, taken off the queue, as {@link #failAll} fails each of its jobs. */
    private static void fail(Job job, Supplier<InferenceException> failure, InferenceException fallback) {
        InferenceException answer;
        try {
            answer = failure.get();
        } catch (RuntimeException | Error e) {
            answer = fallback;
        }
        job.fail(answer);
    }

    /**
     * Fails {@code jobs}, taken off the queue, with one failure from {@code failure}, or {@code fallback} if it cannot
     * be made (out of memory): each is answered, since nothing else will.
     */
    private static void failAll(List<Job> jobs, Supplier<InferenceException> failure, InferenceException fallback) {
        if (jobs.isEmpty()) {
            return;
        }
        InferenceException answer;
        try {
            answer = failure.get();
        } catch (RuntimeException | Error e) {
            answer = fallback;
        }
        for (int i = 0; i < jobs.size(); i++) { // by index: no iterator to allocate
            jobs.get(i).fail(answer);
        }
    }

    /**
     * From now on a batch has at most {@code rows} rows (never more than the policy's); {@link
     * Integer#MAX_VALUE} lifts the limit. An instance waiting for a fuller batch looks again at once.
     */
    public void limitBatches(int rows) {
        lock.lock();
        try {
            batcher.limitRows(rows);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Requests waiting in the queue. */
    public int queueDepth() {
        lock.lock();
        try {
            return batcher.size();
        } finally {
            lock.unlock();
        }
    }

    /** Batches running now. */
    public int inflight() {
        return meters.inflight();
    }

    /**
     * Stops every run a caller has made in an instance's place for longer than {@link CallerRuns#overrunNanos}, on
     * this scheduler's clock: its thread (an event loop) serves other connections, which wait as long as it runs.
     * The stopped run's request goes back to the instance, which runs it again, and from then on the model's runs are
     * all the instances'. The {@link CallerWatch} calls this every tick; returns how many runs it stopped.
     */
    int stopOverrunningCallers() {
        if (longestRunNanos() <= callerRuns.overrunNanos()) {
            return 0; // no run has gone on that long, a caller's or an instance's: the lock is left to the requests
        }
        int stopped = 0;
        Thread[] threadsStopped = null;
        lock.lock();
        try {
            long now = clock.getAsLong();
            for (int i = 0; i < lent.length; i++) {
                long since = meters.runSince(i);
                if (lent[i] && callerOf[i] != null && overran.get(i) == 0 && since != NOT_IDLE
                        && now - since > callerRuns.overrunNanos()) {
                    overran.set(i, 1); // before the stop: the failure it brings about is read as the watch's
                    callerRunsOff = true;
                    try {
                        // under the lock, while the place is lent: the run is in progress, and the session open
                        callerRuns.stop().accept(callerOf[i]);
                    } catch (RuntimeException e) { // not stopped: the next tick tries again, and the others now
                        overran.set(i, 0);
                        if (!stopFailed[i]) { // once a run: the watch ticks every 50 ms while it goes on
                            stopFailed[i] = true;
                            LOG.warnf(e, "model %s: the run on %s that went on past %d ms could not be stopped; each"
                                    + " tick tries again", model, callerOf[i].getName(),
                                    TimeUnit.NANOSECONDS.toMillis(callerRuns.overrunNanos()));
                        } else {
                            LOG.debugf("model %s: the run on %s could not be stopped again: %s", model,
                                    callerOf[i].getName(), e.toString());
                        }
                        continue;
                    }
                    if (threadsStopped == null) {
                        threadsStopped = new Thread[lent.length];
                    }
                    threadsStopped[stopped++] = callerOf[i];
                }
            }
        } finally {
            lock.unlock();
        }
        if (stopped > 0) {
            LOG.warnf("model %s: a run on %s went on past %d ms, where the model's runs said it would take at most %d µs;"
                    + " it was stopped and runs again on an instance thread, as every run of this model from now on",
                    model, threadsStopped[0].getName(), TimeUnit.NANOSECONDS.toMillis(callerRuns.overrunNanos()),
                    TimeUnit.NANOSECONDS.toMicros(callerRuns.maxNanos()));
        }
        return stopped;
    }

    /** How many runs callers have made in an instance's place. */
    public long callerRunCount() {
        return callerRunCount.get();
    }

    /** Whether a caller's run overran, so that the model's runs are all the instances' from now on. */
    public boolean callerRunsOff() {
        return callerRunsOff;
    }

    /** How long the model's longest run in progress has run, on this scheduler's clock; 0 when none runs. */
    public long longestRunNanos() {
        return meters.longestRunNanos();
    }

    /** Requests in the batches running now whose callers still wait for them (a cancelled one counts no more). */
    public int runningRequests() {
        return meters.runningRequests();
    }

    /**
     * Whether a batch's outputs did not lead with its rows, so that the model's requests run alone from then on: its
     * variable first dimension is not a batch, and its configuration says so.
     */
    public boolean stoppedBatching() {
        return stoppedBatching;
    }

    /** Concurrent runs of the model. */
    public int instances() {
        return instances;
    }

    /**
     * Nanoseconds the instances have spent waiting for work, summed over the instances, up to {@code now}
     * (on this scheduler's clock), counting the waits still going on.
     */
    public long idleNanos(long now) {
        // under the lock the instances change both under: a wait that ends is then either still open or already
        // summed, never neither (the shedding reads this once a window)
        lock.lock();
        try {
            return meters.idleNanos(now);
        } finally {
            lock.unlock();
        }
    }

    /**
     * How long the queue should take to drain, from the recent time per row: the rows waiting and those of the
     * batches running, over the instances; at least 1 s.
     */
    public Duration retryAfter() {
        return meters.drainTime(batcher.queuedRows());
    }

    private void serve(int instance) {
        List<Job> expired = new ArrayList<>();
        while (true) {
            List<Job> batch;
            List<Job> back = null;
            InferenceException backFailure = null;
            boolean interrupted = false;
            lock.lock();
            try {
                batch = nextBatch(instance, expired);
                backFailure = handedBackFailure[instance];
                back = takeHandedBack(instance);
            } catch (InterruptedException e) {
                batch = null; // ends the thread below, once any request handed back to it is answered
            } catch (RuntimeException | Error e) { // out of memory deciding: the instance must not end, leaving the model READY
                batch = List.of();
                interrupted = pauseAfterFailedDecision(instance, e);
            } finally {
                lock.unlock();
            }
            // off the queue now, the batch and the expired jobs are answered here or nowhere: nothing from here to
            // the end of the run may end the thread before it has answered them
            try {
                executor.answerExpired(expired, instance);
            } catch (RuntimeException | Error e) { // out of memory even for its fallback: the batch still runs
                logQuietly(e, "instance %d of model %s: %s", instance);
            }
            if (back != null) {
                try {
                    executor.execute(back, instance, backFailure, false);
                } catch (RuntimeException | Error e) {
                    logQuietly(e, "instance %d of model %s: %s; the requests handed back are answered and it serves on",
                            instance);
                }
            }
            if (batch == null || interrupted) {
                exit(instance);
                return;
            }
            try {
                executor.execute(batch, instance);
            } catch (RuntimeException | Error e) { // a bug past the run's own handling: answered, and the instance goes on
                logQuietly(e, "instance %d of model %s: %s; the batch's requests are answered and it serves on", instance);
            }
        }
    }

    /**
     * Takes the requests a caller handed back to {@code instance}, if any (null otherwise), and clears their failure,
     * which the caller reads first. Under the lock.
     */
    @SuppressWarnings("unchecked")
    private List<Job> takeHandedBack(int instance) {
        List<Job> back = (List<Job>) handedBack[instance];
        handedBack[instance] = null;
        handedBackFailure[instance] = null;
        return back;
    }

    /**
     * Marks {@code instance}'s thread as ending: no caller takes its place from now on. A request a caller handed
     * back to it meanwhile is answered with its failure as it stands.
     */
    private void exit(int instance) {
        List<Job> back;
        InferenceException failure;
        lock.lock();
        try {
            exited[instance] = true;
            meters.endIdling(instance);
            failure = handedBackFailure[instance];
            back = takeHandedBack(instance);
        } finally {
            lock.unlock();
        }
        if (back != null) {
            failAsItStands(back, failure == executor.movedOff ? shuttingDown : failure);
        }
    }

    /** Answers {@code jobs}, still running, with {@code failure}, and counts them off. */
    private void failAsItStands(List<Job> jobs, InferenceException failure) {
        for (int i = 0; i < jobs.size(); i++) {
            Job job = jobs.get(i);
            job.fail(failure);
            meters.stopRunning(job);
        }
    }

    /**
     * Logs a decision that failed and waits a little before the next, so a failure that keeps coming is no hot loop;
     * a failure to log or to wait (out of memory again) is swallowed, so the instance goes on to answer what the
     * decision took out. Called with the lock held; true if interrupted meanwhile.
     */
    private boolean pauseAfterFailedDecision(int instance, Throwable e) {
        logQuietly(e, "instance %d of model %s could not take its next batch: %s; it serves on", instance);
        try {
            changed.awaitNanos(FAILED_DECISION_PAUSE_NANOS);
        } catch (InterruptedException stop) {
            return true; // after answering the jobs the failed decision took out as expired
        } catch (RuntimeException | Error again) {
            // no pause this time
        }
        return false;
    }

    /** Logs {@code e} with {@code format}'s instance, model and error; a log that fails (out of memory) is dropped. */
    private void logQuietly(Throwable e, String format, int instance) {
        BatchExecutor.logQuietly(model, e, format, instance);
    }

    /**
     * Waits for a batch, counting the wait as {@code instance}'s idle time; null once closed and drained.
     * Called with the lock held.
     */
    private List<Job> nextBatch(int instance, List<Job> expired) throws InterruptedException {
        while (true) {
            if (lent[instance]) { // a caller runs in its place: it takes nothing until the place comes back
                changed.await();
                continue;
            }
            if (handedBack[instance] != null) {
                return List.of(); // the caller's request first, which serve takes
            }
            long now = clock.getAsLong();
            // draining: no more waiting for company (deadlines still judged now, not at the end of a wait)
            batcher.expect(meters.nanosPerRow(), meters.nanosPerByte());
            DynamicBatcher.Decision decision = closed ? batcher.nextWithoutWaiting(now, expired)
                    : batcher.next(now, expired);
            if (decision instanceof DynamicBatcher.Run run) {
                List<Job> jobs = run.jobs();
                // the jobs are off the queue: from here they are returned whatever throws (out of memory), or lost
                try {
                    started(jobs, instance);
                    if (batcher.size() > 0) {
                        // what is left may be ready too (a full batch behind one that could not grow, a lower level):
                        // a submit woke one instance for it, this one, so wake another rather than leave it asleep
                        // until a due time that has gone with this batch
                        wakeAnInstance();
                    }
                } catch (RuntimeException | Error e) {
                    logQuietly(e, "instance %d of model %s: %s after taking a batch; it runs all the same", instance);
                }
                return jobs;
            }
            if (!expired.isEmpty()) {
                return List.of();
            }
            if (closed) {
                return null;
            }
            meters.startIdling(instance);
            if (decision instanceof DynamicBatcher.Wait wait) {
                changed.awaitNanos(wait.untilNanos() - clock.getAsLong());
            } else {
                changed.await();
            }
        }
    }

    /**
     * Marks {@code jobs}, just taken off the queue, as running on {@code instance}, which stops idling. Under the lock a
     * cancel takes: each job is counted from here until answered or cancelled, once.
     */
    private void started(List<Job> jobs, int instance) {
        for (int i = 0; i < jobs.size(); i++) { // by index: no iterator to allocate
            jobs.get(i).startRunning();
        }
        meters.started(jobs);
        meters.endIdling(instance);
    }

    /**
     * Gives the model the inputs it is known to run (a warmup request's, copied), which a runtime failure is told from
     * the model's own by; null: none (warmup off), and every runtime failure is the model's.
     */
    public void knownGood(List<Tensor> inputs) {
        executor.knownGood(inputs);
    }

    /**
     * The model's outputs did not lead with a batch's rows (warmup, which would have failed the model, was off
     * or never ran that size): its requests run alone from now on, the shedding's limits notwithstanding.
     */
    private void stopBatching(String why) {
        lock.lock();
        try {
            stoppedBatching = true;
            if (batcher.stopBatching()) {
                LOG.warnf("model %s: %s. Its requests run one at a time from now on", model, why);
            }
            changed.signalAll(); // an instance waiting for a fuller batch can run its head request alone now
        } finally {
            lock.unlock();
        }
    }

    /**
     * Stops taking work, lets the instances finish what is queued, and waits for them, at most 5 s in all.
     * The wait is not cut short by an interrupt (the caller's interrupt status is kept): whoever closes the
     * session next must not free it under a running batch. {@link #stopped()} says whether it is safe.
     */
    @Override
    public void close() {
        close(TimeUnit.SECONDS.toNanos(5));
    }

    /**
     * {@link #close()} with a budget of {@code budgetNanos}. Whatever is still queued when it runs out (the
     * instances busy with long batches) is answered 503 with {@code Retry-After}, never left unanswered
     * when the process exits.
     */
    public void close(long budgetNanos) {
        lock.lock();
        try {
            closed = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        boolean interrupted = join(budgetNanos);
        List<Job> left;
        lock.lock();
        try {
            left = batcher.trim(0);
        } finally {
            lock.unlock();
        }
        failAll(left, () -> shuttingDown, shuttingDown);
        CallerWatch.unwatch(this); // after the wait: a caller's run that overruns meanwhile is still stopped
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * After {@link #close()}: waits at most {@code budgetNanos} more for the instance threads to end (once the
     * runs they are in were stopped, say), and says whether they have. An interrupt does not cut the wait short.
     */
    public boolean awaitStopped(long budgetNanos) {
        if (!closed) { // join's wait shares the instances' condition, whose signals only a close makes all-waking
            throw new IllegalStateException("model '" + model + "': awaitStopped before close");
        }
        if (join(budgetNanos)) {
            Thread.currentThread().interrupt();
        }
        return stopped();
    }

    /**
     * Joins the instance threads within {@code budgetNanos}, then waits for the callers' runs; true when an interrupt
     * came meanwhile. A lent instance's thread ends only once its place is given back, but one interrupted ends at
     * once.
     */
    private boolean join(long budgetNanos) {
        boolean interrupted = false;
        long deadline = System.nanoTime() + budgetNanos;
        for (Thread t : threads) {
            long left;
            while (t.isAlive() && (left = deadline - System.nanoTime()) > 0) {
                try {
                    t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        lock.lock();
        try {
            long left;
            while (lentCount > 0 && (left = deadline - System.nanoTime()) > 0) {
                try {
                    changed.awaitNanos(left); // a caller giving its place back after close signals
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            lock.unlock();
        }
        return interrupted;
    }

    /**
     * True once every instance thread has ended and no caller runs in an instance's place: no batch runs now or will
     * run again.
     */
    public boolean stopped() {
        lock.lock();
        try {
            return lentCount == 0 && threads.stream().noneMatch(Thread::isAlive);
        } finally {
            lock.unlock();
        }
    }
}
