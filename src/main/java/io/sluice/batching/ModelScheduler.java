package io.sluice.batching;

import io.sluice.inference.InferenceException;
import io.sluice.inference.Tensor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
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
 */
public final class ModelScheduler implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(ModelScheduler.class);
    private static final double EWMA_WEIGHT = 0.2;
    private static final long NOT_IDLE = Long.MIN_VALUE;
    private static final long FAILED_DECISION_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private final String model;
    private final DynamicBatcher batcher;
    private final int priorityLevels;
    private final BatchRunner runner;
    private final BatchListener listener;
    private final LongSupplier clock;
    private final int instances;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final List<Thread> threads = new ArrayList<>();
    private final AtomicInteger running = new AtomicInteger();
    private final AtomicInteger runningRequests = new AtomicInteger();
    private final AtomicLong runningRows = new AtomicLong();
    private final AtomicLong idleNanos = new AtomicLong();
    private final AtomicLongArray idleSince;
    /** When each instance's run of the model started, on {@link #clock}; {@link #NOT_IDLE} while none runs. */
    private final AtomicLongArray runSince;
    /**
     * The recent time per row of the runs that answered (a refusal says nothing of what a run costs). Two instances
     * ending runs at once can lose one of their updates, which an estimate shrugs off: a compare-and-set version
     * (5e8aa79) came out lower in goodput under 5 X overload on 12-05 (77.7 against 82.6 req/s over five and four
     * interleaved runs, with no mechanism found) and was taken back.
     */
    private volatile double nanosPerRow = 0;
    /**
     * The recent time per byte of input of a request run alone that was answered, as {@link #nanosPerRow}: what a
     * caller's run is expected to take.
     */
    private volatile double nanosPerByte = 0;
    private final CallerRuns callerRuns;
    /** The answer to taken jobs when not even their failure can be made (out of memory). */
    private final InferenceException lastResort;
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
    /** Runs callers have made in an instance's place. */
    private final AtomicLong callerRunCount = new AtomicLong();
    /** Set once a caller's run overran: every run of the model is an instance's from then on. */
    private volatile boolean callerRunsOff;
    /**
     * What a caller hands back with a request whose run the watch stopped: the instance runs it again as it was. Never
     * an answer, but to a request whose instance has ended, which {@link #shuttingDown} answers instead.
     */
    private final InferenceException movedOff;
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
    /** Inputs the model has run (a warmup request's); null when none are known. */
    private volatile List<Tensor> knownGood;
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
        this.lastResort = new InferenceException.RuntimeFailure("model '" + model + "' failed: out of memory", null);
        this.overloadedAsItStands = new InferenceException.Unavailable(
                InferenceException.Unavailable.Reason.BULKHEAD_FULL, "model '" + model + "' is overloaded",
                Duration.ofSeconds(1));
        this.shuttingDown = new InferenceException.Unavailable(InferenceException.Unavailable.Reason.NOT_READY,
                "model '" + model + "' is shutting down", Duration.ofSeconds(1));
        this.lent = new boolean[instances];
        this.callerOf = new Thread[instances];
        this.overran = new AtomicIntegerArray(instances);
        this.movedOff = new InferenceException.RuntimeFailure("model '" + model + "' overran its run on a caller's thread",
                null);
        this.handedBack = new List<?>[instances];
        this.handedBackFailure = new InferenceException[instances];
        this.exited = new boolean[instances];
        this.batcher = new DynamicBatcher(policy);
        this.priorityLevels = policy.priorityLevels();
        this.runner = runner;
        this.listener = listener;
        this.clock = clock;
        this.instances = instances;
        this.idleSince = new AtomicLongArray(instances);
        this.runSince = new AtomicLongArray(instances);
        try {
            for (int i = 0; i < instances; i++) {
                idleSince.set(i, NOT_IDLE);
                runSince.set(i, NOT_IDLE);
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
        boolean mayRunHere = !callerRunsOff && callerRuns.maxNanos() > 0 && expectedNanos(job) <= callerRuns.maxNanos()
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
     * What running {@code job} alone is expected to take, from the recent runs' time per byte of input; {@link
     * Long#MAX_VALUE} until the model has run (its first run is always an instance's).
     */
    private long expectedNanos(Job job) {
        double perByte = nanosPerByte;
        return perByte <= 0 || job.bytes == 0 ? Long.MAX_VALUE : (long) Math.min(Long.MAX_VALUE, perByte * job.bytes);
    }

    /**
     * Lends an idle instance's place to the caller of {@link #submit}, if one is idle and the batcher would run
     * {@code job}, the only one queued, alone now (not past its deadline, not waiting for company): takes it off
     * the queue as that instance would, and returns the instance; -1, leaving it queued, otherwise. Under the lock.
     */
    private int takeHere(Job job, long now) {
        int instance = -1;
        for (int i = 0; i < lent.length && instance < 0; i++) {
            if (!lent[i] && !exited[i] && idleSince.get(i) != NOT_IDLE) { // waiting for work: none while lent
                instance = i;
            }
        }
        if (instance < 0 || job.expired(now) || callerRunsOff) { // off: read again, as the watch sets it under the lock
            return -1; // a job past its deadline is failed by an instance, as any other found so in the queue
        }
        DynamicBatcher.Decision decision;
        try {
            batcher.expect(nanosPerRow, nanosPerByte);
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
            handBack = execute(jobs, instance, null, true);
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
                failAsItStands(jobs, handBack == movedOff ? shuttingDown : handBack);
            }
        }
    }

    /**
     * Marks a place given back as idle from now. A clock that fails (out of memory) leaves it unmarked, which only
     * keeps callers out of it until its thread, woken all the same, marks itself as it waits. Under the lock.
     */
    private void idleFromNow(int instance) {
        try {
            idleSince.set(instance, clock.getAsLong());
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
            } else if (job.stopRunning()) {
                runningRequests.decrementAndGet();
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
        return running.get();
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
                long since = runSince.get(i);
                if (lent[i] && callerOf[i] != null && overran.get(i) == 0 && since != NOT_IDLE
                        && now - since > callerRuns.overrunNanos()) {
                    overran.set(i, 1); // before the stop: the failure it brings about is read as the watch's
                    callerRunsOff = true;
                    try {
                        // under the lock, while the place is lent: the run is in progress, and the session open
                        callerRuns.stop().accept(callerOf[i]);
                    } catch (RuntimeException e) { // not stopped: the next tick tries again, and the others now
                        overran.set(i, 0);
                        LOG.warnf(e, "model %s: the run on %s that went on past %d ms could not be stopped; the next"
                                + " tick tries again", model, callerOf[i].getName(),
                                TimeUnit.NANOSECONDS.toMillis(callerRuns.overrunNanos()));
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
        long now = clock.getAsLong();
        long longest = 0;
        for (int i = 0; i < runSince.length(); i++) {
            long since = runSince.get(i);
            if (since != NOT_IDLE) {
                longest = Math.max(longest, now - since);
            }
        }
        return longest;
    }

    /** Requests in the batches running now whose callers still wait for them (a cancelled one counts no more). */
    public int runningRequests() {
        return runningRequests.get();
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
            long total = idleNanos.get();
            for (int i = 0; i < idleSince.length(); i++) {
                long since = idleSince.get(i);
                if (since != NOT_IDLE) {
                    total += Math.max(0, now - since);
                }
            }
            return total;
        } finally {
            lock.unlock();
        }
    }

    /**
     * How long the queue should take to drain, from the recent time per row: the rows waiting and those of the
     * batches running, over the instances; at least 1 s.
     */
    public Duration retryAfter() {
        double drainNanos = (batcher.queuedRows() + runningRows.get()) * nanosPerRow / instances;
        return Duration.ofSeconds(Math.max(1, (long) Math.min(Long.MAX_VALUE, Math.ceil(drainNanos / 1e9))));
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
                answerExpired(expired, instance);
            } catch (RuntimeException | Error e) { // out of memory even for its fallback: the batch still runs
                logQuietly(e, "instance %d of model %s: %s", instance);
            }
            if (back != null) {
                try {
                    execute(back, instance, backFailure, false);
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
                execute(batch, instance);
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
            endIdling(instance);
            failure = handedBackFailure[instance];
            back = takeHandedBack(instance);
        } finally {
            lock.unlock();
        }
        if (back != null) {
            failAsItStands(back, failure == movedOff ? shuttingDown : failure);
        }
    }

    /** Answers {@code jobs}, still running, with {@code failure}, and counts them off. */
    private void failAsItStands(List<Job> jobs, InferenceException failure) {
        for (int i = 0; i < jobs.size(); i++) {
            Job job = jobs.get(i);
            job.fail(failure);
            if (job.stopRunning()) {
                runningRequests.decrementAndGet();
            }
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
        try {
            LOG.errorf(e, format, instance, model, e.toString());
        } catch (RuntimeException | Error dropped) {
            // the instance must go on answering: a lost log line is the lesser harm
        }
    }

    /** The answer of a job whose deadline passed while it was queued. */
    private InferenceException pastItsDeadline() {
        return new InferenceException.DeadlineExceeded("deadline passed while queued for '" + model + "'");
    }

    /** Fails the jobs found past their deadlines in the queue, each once, even if the clock or a meter throws. */
    private void answerExpired(List<Job> expired, int instance) {
        if (expired.isEmpty()) {
            return;
        }
        try {
            long now = clock.getAsLong();
            for (Job job : expired) { // their waits are the longest: the queue-wait histogram keeps them
                count(() -> listener.waited(now - job.enqueuedNanos));
                job.fail(pastItsDeadline());
            }
        } catch (RuntimeException | Error e) { // out of memory: still answered, if without their waits, then logged
            // one answer for all, made once: delivering it allocates nothing that could fail part way through
            InferenceException late = pastItsDeadline();
            for (Job job : expired) {
                job.fail(late); // false, and nothing sent, for those already answered
            }
            logQuietly(e, "instance %d of model %s: %s while answering requests past their deadlines", instance);
        } finally {
            expired.clear();
        }
    }

    /**
     * Tells the listener (the meters) something. A listener that throws (a meter out of memory) is logged and
     * ignored: it must neither cost a request its answer nor turn a good run into a failure, nor end the instance.
     */
    private void count(Runnable call) {
        try {
            call.run();
        } catch (RuntimeException | Error e) {
            try {
                LOG.errorf(e, "a meter of model %s failed; the request goes on", model);
            } catch (RuntimeException | Error dropped) {
                // the run's answers come first
            }
        }
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
            batcher.expect(nanosPerRow, nanosPerByte);
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
            if (idleSince.get(instance) == NOT_IDLE) {
                idleSince.set(instance, clock.getAsLong());
            }
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
        runningRequests.addAndGet(jobs.size());
        endIdling(instance);
    }

    private void endIdling(int instance) {
        long since = idleSince.getAndSet(instance, NOT_IDLE);
        if (since != NOT_IDLE) {
            idleNanos.addAndGet(Math.max(0, clock.getAsLong() - since));
        }
    }

    /**
     * Runs one batch and answers each of its jobs. When a batch of several jobs fails because the model
     * refused its input ({@link InferenceException.InvalidInput}: a token id past the vocabulary, say),
     * each job still waiting runs again alone, so that only the request at fault fails, not those it
     * happened to share a batch with. So do they when the model's outputs turn out not to lead with the batch's
     * rows, and the model batches no more. Any other failure (the runtime itself failing) fails the whole batch
     * at once: running it again row by row would only multiply the failure.
     */
    private void execute(List<Job> jobs, int instance) {
        execute(jobs, instance, null, false);
    }

    /**
     * {@link #execute(List, int)}, or, {@code failed} not null, its answer to the jobs' first run that failed so, on a
     * caller's thread. {@code onCaller}: on a caller's thread, which neither probes the model nor runs a request
     * again: a failure that takes either is returned, its jobs still running, for an instance to answer; null
     * otherwise. Nothing here allocates before the try, so that taken jobs are answered even out of memory.
     */
    private InferenceException execute(List<Job> jobs, int instance, InferenceException failed, boolean onCaller) {
        if (jobs.isEmpty()) {
            return null;
        }
        long rows = 0;
        for (int i = 0; i < jobs.size(); i++) { // by index: no iterator to allocate
            rows += jobs.get(i).rows;
        }
        runningRows.addAndGet(rows);
        InferenceException handBack = null;
        try {
            boolean again = failed == movedOff; // a caller's run the watch stopped: it runs here as it was, if still wanted
            InferenceException failure;
            if (again && jobs.get(0).isDone()) { // a caller's run is one request; cancelled meanwhile, it is not run
                failure = null;
            } else if (again && jobs.get(0).expired(clock.getAsLong())) {
                failure = new InferenceException.DeadlineExceeded("deadline passed while '" + model
                        + "' ran it on an event loop, where it was stopped for running too long");
            } else {
                failure = failed != null && !again ? failed : run(jobs, !again, instance);
            }
            if (failure != null && onCaller && overran.get(instance) != 0) {
                handBack = movedOff; // whatever the stopped run's failure says, the request did not fail
            } else if (failure != null && onCaller && takesAnotherRun(failure)) {
                handBack = failure;
            } else if (failure != null) {
                answer(jobs, failure, instance);
            }
        } catch (RuntimeException | Error e) { // past the run's own handling (a listener's failure): still answered
            failUnanswered(jobs, e);
            throw e;
        } finally {
            // only once they are answered, on every path: a shedding model counts admitted requests not running
            // as waiting, and those just finished must not look like a queue until their permits come back
            for (int i = 0; handBack == null && i < jobs.size(); i++) {
                if (jobs.get(i).stopRunning()) {
                    runningRequests.decrementAndGet();
                }
            }
            runningRows.addAndGet(-rows);
        }
        return handBack;
    }

    /** Fails the jobs not yet answered with one failure for {@code e}; a fixed one if even that cannot be made. */
    private void failUnanswered(List<Job> jobs, Throwable e) {
        InferenceException failure;
        try {
            failure = new InferenceException.RuntimeFailure("model '" + model + "' failed: " + e, e);
        } catch (RuntimeException | Error again) {
            failure = lastResort;
        }
        for (int i = 0; i < jobs.size(); i++) {
            if (!jobs.get(i).isDone()) {
                jobs.get(i).fail(failure);
            }
        }
    }

    /**
     * Whether answering a lone request's {@code failure} takes another run of the model: a runtime failure the input
     * may have caused is told from the model's own by running the known-good input ({@link #answer}).
     */
    private boolean takesAnotherRun(InferenceException failure) {
        return failure instanceof InferenceException.RuntimeFailure r && r.mayBeTheInput() && knownGood != null
                && !(failure.getCause() instanceof Batches.NotABatch);
    }

    /**
     * Answers {@code jobs}, whose batch failed with {@code failure}: runs them again one by one, or fails them all
     * (see {@link #execute(List, int)}).
     */
    private void answer(List<Job> jobs, InferenceException failure, int instance) {
        boolean notABatch = failure.getCause() instanceof Batches.NotABatch;
        if (notABatch) {
            stopBatching(failure.getCause().getMessage());
        }
        // a kernel's failure after which the model still runs its known-good input, and which comes again when the
        // request runs alone, came from the input (a token sequence past MiniLM's 512 positions fails an Add node,
        // ORT_RUNTIME_EXCEPTION): the client's mistake, which must neither be a 500 nor count towards the circuit
        // breaker that would then turn everyone away. A failure that does not come again is answered by the rerun.
        boolean inputsFault = failure instanceof InferenceException.RuntimeFailure r && r.mayBeTheInput() && !notABatch
                && stillRunsKnownGood(instance);
        if ((failure instanceof InferenceException.InvalidInput || notABatch) && jobs.size() > 1 || inputsFault) {
            LOG.debugf("batch of %d on model %s failed (%s); running its requests one by one", jobs.size(), model,
                    failure.getMessage());
            for (Job job : jobs) {
                if (job.isDone()) {
                    // cancelled meanwhile: counted off already
                } else if (job.expired(clock.getAsLong())) {
                    job.fail(new InferenceException.DeadlineExceeded("deadline passed while '" + model
                            + "' ran a batch that failed"));
                } else {
                    InferenceException alone = run(List.of(job), false, instance);
                    if (alone != null) {
                        job.fail(inputsFault ? inputsFault(alone) : alone);
                    }
                }
                if (job.stopRunning()) { // answered, its permit back: the reruns after it are not its wait
                    runningRequests.decrementAndGet();
                }
            }
        } else if (failure != null) {
            InferenceException answer = inputsFault ? inputsFault(failure) : failure;
            for (Job job : jobs) {
                job.fail(answer);
            }
        }
    }

    /**
     * Gives the model the inputs it is known to run (a warmup request's, copied), which {@link #stillRunsKnownGood}
     * runs again after a runtime failure; null: none (warmup off), and every runtime failure is the model's.
     */
    public void knownGood(List<Tensor> inputs) {
        knownGood = inputs == null ? null : List.copyOf(inputs);
    }

    /**
     * Whether the model still runs its known-good inputs, on this instance, now: after a runtime failure, true says
     * the failure came with its input. Not counted as a batch in the meters (it answers no one), but watched as a
     * run; false without them.
     */
    private boolean stillRunsKnownGood(int instance) {
        List<Tensor> inputs = knownGood;
        if (inputs == null) {
            return false;
        }
        // a run as any other for what watches runs (the breaker's view of a hung model, inflight), but no batch
        running.incrementAndGet();
        runSince.set(instance, clock.getAsLong());
        try {
            runner.run(inputs.stream().map(t -> new Tensor(t.name(), t.datatype(), t.shape(), t.data().duplicate()))
                    .toList(), List.of(), java.util.Collections.singletonList(null));
            return true;
        } catch (RuntimeException | Error e) { // out of memory included: then the model is not known to run
            LOG.debugf("model %s fails its known-good input too (%s): the failure is the model's", model, e.toString());
            return false;
        } finally {
            runSince.set(instance, NOT_IDLE);
            running.decrementAndGet();
        }
    }

    /** A kernel's failure the input caused: 400 / INVALID_ARGUMENT, not counted by the circuit breaker. */
    private InferenceException inputsFault(InferenceException failure) {
        if (!(failure instanceof InferenceException.RuntimeFailure r) || !r.mayBeTheInput()) {
            return failure; // a rerun alone that failed otherwise (a deadline, memory, a device) says so itself
        }
        String failed = "model '" + model + "' failed: "; // as run() words it
        String what = failure.getMessage() != null && failure.getMessage().startsWith(failed)
                ? failure.getMessage().substring(failed.length()) : failure.getMessage();
        return new InferenceException.InvalidInput("model '" + model + "' could not run this input, though it runs"
                + " its warmup input: " + what);
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
     * Runs {@code jobs} as one batch; completes them all and returns null, or returns the failure for the
     * caller. {@code firstRun}: their queue wait is recorded (once per job, not again on a rerun). The run is
     * {@code instance}'s, timed for {@link #longestRunNanos}.
     */
    private InferenceException run(List<Job> jobs, boolean firstRun, int instance) {
        long rows = jobs.stream().mapToLong(j -> j.rows).sum();
        int reported = (int) Math.min(Integer.MAX_VALUE, rows); // jobs of zero-element inputs may claim 2^31 - 1 rows each
        List<List<Tensor>> perJob = null;
        InferenceException failure = null;
        long nanos = -1; // until the model ran: a batch that failed before it measured nothing
        long start = 0;
        running.incrementAndGet();
        try {
            List<Tensor> inputs = Batches.stack(jobs);
            start = clock.getAsLong();
            if (firstRun) {
                for (Job job : jobs) {
                    long waited = start - job.enqueuedNanos;
                    count(() -> listener.waited(waited));
                }
            }
            List<Tensor> outputs;
            runSince.set(instance, start);
            try {
                outputs = runner.run(inputs, jobs.get(0).outputs, jobs.stream().map(j -> j.trace).toList());
            } finally {
                runSince.set(instance, NOT_IDLE);
                nanos = clock.getAsLong() - start;
            }
            perJob = Batches.split(jobs, outputs);
        } catch (InferenceException.RuntimeFailure e) {
            failure = new InferenceException.RuntimeFailure("model '" + model + "' failed: " + e.getMessage(), e.getCause(),
                    e.mayBeTheInput());
        } catch (InferenceException e) {
            failure = e;
        } catch (RuntimeException | Error e) {
            LOG.warnf(e, "batch of %d failed on model %s", jobs.size(), model);
            failure = new InferenceException.RuntimeFailure("model '" + model + "' failed: " + e.getMessage(), e);
        } finally {
            running.decrementAndGet();
            if (nanos >= 0) {
                if (failure == null) { // a refusal at the first node takes microseconds: no run's cost per row
                    nanosPerRow = nanosPerRow == 0 ? nanos / (double) rows
                            : (1 - EWMA_WEIGHT) * nanosPerRow + EWMA_WEIGHT * nanos / (double) rows;
                }
                long bytes = jobs.size() == 1 ? jobs.get(0).bytes : 0;
                if (failure == null && bytes > 0) { // what a lone request takes: not a batch's share, nor a refusal's
                    double perByte = nanos / (double) bytes;
                    nanosPerByte = nanosPerByte == 0 ? perByte
                            : (1 - EWMA_WEIGHT) * nanosPerByte + EWMA_WEIGHT * perByte;
                }
                long ranNanos = nanos;
                count(() -> listener.ran(jobs.size(), reported, ranNanos));
            }
        }
        if (failure == null) {
            long waited = 0;
            for (Job job : jobs) {
                waited += start - job.enqueuedNanos;
            }
            long ranNanos = nanos;
            long waitedNanos = waited;
            count(() -> listener.answered(jobs.size(), reported, ranNanos, waitedNanos));
            for (int i = 0; i < jobs.size(); i++) {
                jobs.get(i).complete(perJob.get(i));
            }
        }
        return failure;
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
