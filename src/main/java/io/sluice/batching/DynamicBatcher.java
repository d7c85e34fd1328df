package io.sluice.batching;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * The queue and batching decision of one model, without threads or clocks of its own: callers pass
 * the time in, so tests drive it exactly. Not thread-safe; {@link ModelScheduler} guards it.
 *
 * <p>Order: the highest priority level first, FIFO within a level (a sequence number breaks every
 * tie, so nobody starves behind later arrivals of its level). Levels are strict, as Triton's: while a
 * higher level always has a job queued, a lower level's jobs wait, until their deadlines if they have
 * any. A batch starts at the head and takes later jobs of
 * the same signature, in order, while the rows fit (from lower levels only while no job of another
 * signature waits above them). It runs when it is full or cannot grow, when it reaches a preferred
 * size, when the head has waited the maximum queue delay, or when a job in it would otherwise miss its
 * deadline. While the head's batch waits for company, a ready batch of another signature at the head's
 * level runs instead (never one of a lower level). {@link #limitRows} lowers the most rows in a batch
 * below the policy's for a while (a shedding model runs short batches), {@link #stopBatching} for good.
 */
final class DynamicBatcher {

    /** What an instance should do next. */
    sealed interface Decision {}

    /** Run these jobs as one batch. */
    record Run(List<Job> jobs) implements Decision {}

    /** Nothing is ready; look again at {@code untilNanos} or when something arrives. */
    record Wait(long untilNanos) implements Decision {}

    /** The queue is empty. */
    record Idle() implements Decision {}

    /**
     * The most bytes of input a batch takes: its inputs are concatenated into buffers an int indexes,
     * so jobs that would pass this run in the next batch instead.
     */
    static final long MAX_BATCH_BYTES = Integer.MAX_VALUE - 8;

    /** The least time before a job's deadline at which a batch waiting for company runs without it. */
    static final long DEADLINE_MARGIN_NANOS = 1_000_000;

    private final BatchPolicy policy;
    private final long maxBatchBytes;
    private final ArrayDeque<Job>[] levels;
    private int size;
    /** Changed under the scheduler's lock; volatile for the Retry-After of a rejection, read without it. */
    private volatile long queuedRows;
    private long sequence;
    private int rowLimit = Integer.MAX_VALUE;
    private boolean unbatched;
    private double expectedNanosPerRow;
    private double expectedNanosPerByte;

    DynamicBatcher(BatchPolicy policy) {
        this(policy, MAX_BATCH_BYTES);
    }

    @SuppressWarnings("unchecked")
    DynamicBatcher(BatchPolicy policy, long maxBatchBytes) {
        this.policy = policy;
        this.maxBatchBytes = maxBatchBytes;
        this.levels = new ArrayDeque[policy.priorityLevels()];
        for (int i = 0; i < levels.length; i++) {
            levels[i] = new ArrayDeque<>();
        }
    }

    /** Queues {@code job}; false, with nothing queued, when the queue is full. */
    boolean offer(Job job, long now) {
        if (size >= policy.queueSize()) {
            return false;
        }
        job.enqueuedNanos = now;
        job.sequence = sequence++;
        levels[job.level].addLast(job);
        size++;
        queuedRows += job.rows;
        return true;
    }

    /** Removes a queued job; false if it was not queued (already taken or never offered). */
    boolean remove(Job job) {
        if (levels[job.level].remove(job)) {
            size--;
            queuedRows -= job.rows;
            return true;
        }
        return false;
    }

    /**
     * Takes the jobs that would run last out of the queue until at most {@code keep} are left: the
     * newest of the lowest priority level first. Returns them, newest first, for the caller to answer.
     */
    List<Job> trim(int keep) {
        List<Job> cut = new ArrayList<>();
        for (int i = levels.length - 1; i >= 0 && size > keep; i--) {
            while (size > keep && !levels[i].isEmpty()) {
                Job job = levels[i].peekLast();
                cut.add(job); // before it leaves the queue: a list that cannot grow (out of memory) loses no job
                levels[i].pollLast();
                size--;
                queuedRows -= job.rows;
            }
        }
        return cut;
    }

    /**
     * Takes the job that would run last out of the queue (the newest of the lowest level), if its level is below
     * {@code level} (a larger index), for a job of {@code level} to take its place; null when no job waits below it.
     * A job cancelled, or past its deadline at {@code now}, is passed over: its canceller, or the next instance to
     * look, takes it off and answers it as such.
     */
    Job cutBelow(int level, long now) {
        for (int i = levels.length - 1; i > level; i--) {
            for (Iterator<Job> it = levels[i].descendingIterator(); it.hasNext(); ) {
                Job job = it.next();
                if (job.isDone() || job.expired(now)) {
                    continue;
                }
                it.remove();
                size--;
                queuedRows -= job.rows;
                return job;
            }
        }
        return null;
    }

    /** Whether a job waits at a level below {@code level} (a larger index). */
    boolean queuedBelow(int level) {
        for (int i = levels.length - 1; i > level; i--) {
            if (!levels[i].isEmpty()) {
                return true;
            }
        }
        return false;
    }

    /** From now on a batch has at most {@code rows} rows, and never more than the policy's. */
    void limitRows(int rows) {
        rowLimit = rows;
    }

    /** From now on every job runs alone, whatever {@link #limitRows} says later; true if it batched until now. */
    boolean stopBatching() {
        boolean batched = !unbatched;
        unbatched = true;
        return batched;
    }

    /** The most rows in a batch now. */
    int maxBatchSize() {
        return unbatched ? 1 : Math.min(policy.maxBatchSize(), rowLimit);
    }

    /** Queued jobs. */
    int size() {
        return size;
    }

    /** The rows of the queued jobs; may be read without the scheduler's lock. */
    long queuedRows() {
        return queuedRows;
    }

    /**
     * Decides the next batch at time {@code now}. Jobs that are done (cancelled) are dropped, and
     * jobs past their deadline are moved to {@code expired} for the caller to fail; neither ever
     * reaches a batch.
     */
    Decision next(long now, List<Job> expired) {
        return next(now, expired, true);
    }

    /**
     * {@link #next} for a closing scheduler: whatever batch the head makes runs now, without waiting for
     * company, while deadlines are still judged at {@code now}.
     */
    Decision nextWithoutWaiting(long now, List<Job> expired) {
        return next(now, expired, false);
    }

    private Decision next(long now, List<Job> expired, boolean mayWait) {
        dropDead(now, expired);
        Job head = head();
        if (head == null) {
            return new Idle();
        }
        int max = maxBatchSize();
        if (max == 1 || head.signature == null) {
            return take(List.of(head));
        }
        // each signature's batch at the head's level, led by its first job there; the first that is ready runs, so
        // an instance never idles while a batch of another shape is ready behind a head that waits for company
        // (lower levels wait their turn: a lower priority never runs ahead of a higher one)
        long wake = Long.MAX_VALUE;
        java.util.Set<Object> seen = null; // the signatures looked at, once the head's batch has to wait
        int l = head.level;
        for (Job leader : levels[l]) { // the head first
            if (leader != head) {
                if (leader.signature == null) {
                    return take(List.of(leader)); // it cannot share a batch: nothing to wait for
                }
                if (seen == null) {
                    seen = new java.util.HashSet<>();
                    seen.add(head.signature);
                }
                if (!seen.add(leader.signature)) {
                    continue;
                }
            }
            List<Job> batch = new ArrayList<>();
            long rows = gather(leader, l, batch, max);
            if (rows >= max) {
                return take(batch);
            }
            List<Job> preferred = preferredPrefix(batch, rows);
            if (preferred != null) {
                return take(preferred);
            }
            long due = due(leader, batch, rows);
            if (!mayWait || now - due >= 0) {
                return take(batch);
            }
            wake = Math.min(wake, due);
        }
        return new Wait(wake);
    }

    /**
     * When a batch that is not full runs anyway: once its leader has waited the maximum queue delay, or earlier
     * when one of its jobs would otherwise miss its deadline waiting for company (its deadline less the time
     * the batch is expected to run), so a deadline shorter than the delay is not a 504 on an idle model. The
     * batch is expected to take its rows' time per row, and at least what its largest job takes alone: on a GPU a
     * batch costs about the same whatever its rows, and the time per row learned from full batches is a fraction
     * of a lone request's run.
     */
    private long due(Job leader, List<Job> batch, long rows) {
        long due = leader.enqueuedNanos + policy.maxQueueDelayNanos();
        // at least a millisecond before it: a waiting instance wakes up a little late, and a job found past its
        // deadline is failed, not run
        double expected = expectedNanosPerRow * rows;
        for (Job job : batch) {
            expected = Math.max(expected, expectedNanosPerByte * job.bytes);
        }
        long runNanos = (long) Math.min(Long.MAX_VALUE / 4, Math.max(DEADLINE_MARGIN_NANOS, expected));
        for (Job job : batch) {
            if (job.deadlineNanos != Long.MAX_VALUE && job.deadlineNanos - runNanos - due < 0) {
                due = job.deadlineNanos - runNanos;
            }
        }
        return due;
    }

    /**
     * The time a row is expected to take, from the scheduler's recent runs, and a request run alone per byte of its
     * inputs; each 0 while unknown.
     */
    void expect(double nanosPerRow, double nanosPerByte) {
        expectedNanosPerRow = nanosPerRow;
        expectedNanosPerByte = nanosPerByte;
    }

    /**
     * Fills {@code batch} with {@code leader} and the later jobs of its signature, in queue order, from its
     * level {@code from} down; returns its rows, or {@code max} when it cannot grow (the next job's rows or
     * bytes would not fit, and no later job may pass it) and so runs now. It takes from a lower level only
     * while no job of another signature waits at the levels it has walked: filling up with jobs of lower
     * priority must not make a job of higher priority wait for a longer batch.
     */
    private long gather(Job leader, int from, List<Job> batch, int max) {
        long rows = 0; // a long: jobs of zero-element inputs may each claim up to 2^31 - 1 rows
        long bytes = 0;
        boolean others = false; // a job of another signature waits at a level walked so far, or above them
        for (int l = 0; l < from; l++) {
            others |= !levels[l].isEmpty();
        }
        for (int l = from; l < levels.length; l++) {
            for (Job job : levels[l]) {
                if (!leader.signature.equals(job.signature)) {
                    others = true;
                    continue;
                }
                if (!batch.isEmpty() && (bytes + job.bytes > maxBatchBytes || rows + job.rows > max)) {
                    return max;
                }
                batch.add(job);
                rows += job.rows;
                bytes += job.bytes;
            }
            if (others) {
                break;
            }
        }
        return rows;
    }

    /** The longest prefix of {@code batch} whose rows make the largest preferred size it can reach. */
    private List<Job> preferredPrefix(List<Job> batch, long rows) {
        List<Integer> sizes = policy.preferredSizes();
        for (int i = sizes.size() - 1; i >= 0; i--) {
            int target = sizes.get(i);
            if (target > rows) {
                continue;
            }
            long sum = 0;
            for (int j = 0; j < batch.size(); j++) {
                sum += batch.get(j).rows;
                if (sum == target) {
                    return batch.subList(0, j + 1);
                }
                if (sum > target) {
                    break;
                }
            }
        }
        return null;
    }

    /**
     * Takes {@code jobs} off the queue as one run. The run is made first: an Error while making it (out of memory)
     * leaves the jobs queued for the next decision, where after the removals they were in no queue and no run,
     * and nobody would have answered them.
     */
    private Run take(List<Job> jobs) {
        Run run = new Run(List.copyOf(jobs));
        for (Job job : run.jobs()) {
            remove(job);
        }
        return run;
    }

    private Job head() {
        for (ArrayDeque<Job> level : levels) {
            Job head = level.peekFirst();
            if (head != null) {
                return head;
            }
        }
        return null;
    }

    private void dropDead(long now, List<Job> expired) {
        for (ArrayDeque<Job> level : levels) {
            for (Iterator<Job> it = level.iterator(); it.hasNext(); ) {
                Job job = it.next();
                if (job.isDone() || job.expired(now)) {
                    if (!job.isDone()) {
                        expired.add(job); // first: an Error growing the list leaves the job queued, not lost
                    }
                    it.remove();
                    size--;
                    queuedRows -= job.rows;
                }
            }
        }
    }
}
