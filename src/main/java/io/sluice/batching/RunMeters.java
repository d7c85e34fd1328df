package io.sluice.batching;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.LongSupplier;

/**
 * What one model's instances are doing, for its {@link ModelScheduler}'s decisions and meters: the batches and
 * requests running, when each instance started waiting for work or started its run, the waits summed, and the recent
 * cost of a row and of a lone request's byte of input. Every time is on the scheduler's clock.
 */
final class RunMeters {

    /** An instance's idle or run start while it is not idle, or runs nothing. */
    static final long NOT_IDLE = Long.MIN_VALUE;
    private static final double EWMA_WEIGHT = 0.2;

    private final LongSupplier clock;
    private final int instances;
    private final AtomicInteger running = new AtomicInteger();
    private final AtomicInteger runningRequests = new AtomicInteger();
    private final AtomicLong runningRows = new AtomicLong();
    private final AtomicLong idleNanos = new AtomicLong();
    private final AtomicLongArray idleSince;
    /** When each instance's run of the model started; {@link #NOT_IDLE} while none runs. */
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

    RunMeters(LongSupplier clock, int instances) {
        this.clock = clock;
        this.instances = instances;
        this.idleSince = new AtomicLongArray(instances);
        this.runSince = new AtomicLongArray(instances);
        for (int i = 0; i < instances; i++) {
            idleSince.set(i, NOT_IDLE);
            runSince.set(i, NOT_IDLE);
        }
    }

    double nanosPerRow() {
        return nanosPerRow;
    }

    double nanosPerByte() {
        return nanosPerByte;
    }

    /**
     * What running {@code job} alone is expected to take, from the recent runs' time per byte of input; {@link
     * Long#MAX_VALUE} until the model has run (its first run is always an instance's).
     */
    long expectedNanos(Job job) {
        double perByte = nanosPerByte;
        return perByte <= 0 || job.bytes == 0 ? Long.MAX_VALUE : (long) Math.min(Long.MAX_VALUE, perByte * job.bytes);
    }

    /**
     * A run of {@code rows} rows answered after {@code nanos}: the recent cost per row, and, for a request run alone
     * ({@code loneBytes} its input's bytes, else 0), per byte. Not for a failed run: a refusal at the first node takes
     * microseconds.
     */
    void answered(long nanos, long rows, long loneBytes) {
        nanosPerRow = nanosPerRow == 0 ? nanos / (double) rows
                : (1 - EWMA_WEIGHT) * nanosPerRow + EWMA_WEIGHT * nanos / (double) rows;
        if (loneBytes > 0) { // what a lone request takes: not a batch's share
            double perByte = nanos / (double) loneBytes;
            nanosPerByte = nanosPerByte == 0 ? perByte : (1 - EWMA_WEIGHT) * nanosPerByte + EWMA_WEIGHT * perByte;
        }
    }

    /** Whether {@code instance} waits for work now. */
    boolean idle(int instance) {
        return idleSince.get(instance) != NOT_IDLE;
    }

    /** {@code instance} waits for work from now, if it did not already. */
    void startIdling(int instance) {
        if (idleSince.get(instance) == NOT_IDLE) {
            idleSince.set(instance, clock.getAsLong());
        }
    }

    /** {@code instance} waits for work from now (its place given back); throws if the clock does. */
    void idleFromNow(int instance) {
        idleSince.set(instance, clock.getAsLong());
    }

    /** {@code instance} stops waiting for work: its wait is added to the sum. */
    void endIdling(int instance) {
        long since = idleSince.getAndSet(instance, NOT_IDLE);
        if (since != NOT_IDLE) {
            idleNanos.addAndGet(Math.max(0, clock.getAsLong() - since));
        }
    }

    /**
     * Nanoseconds the instances have spent waiting for work, summed over the instances, up to {@code now}, counting
     * the waits still going on. The scheduler holds its lock, under which the instances change both.
     */
    long idleNanos(long now) {
        long total = idleNanos.get();
        for (int i = 0; i < idleSince.length(); i++) {
            long since = idleSince.get(i);
            if (since != NOT_IDLE) {
                total += Math.max(0, now - since);
            }
        }
        return total;
    }

    /** A batch (or a probe) starts running; {@link #batchEnded} when it ends. */
    void batchStarted() {
        running.incrementAndGet();
    }

    void batchEnded() {
        running.decrementAndGet();
    }

    /** Batches running now. */
    int inflight() {
        return running.get();
    }

    /** {@code instance}'s run of the model started at {@code start}; {@link #runEnded} when it ends. */
    void runStarted(int instance, long start) {
        runSince.set(instance, start);
    }

    void runEnded(int instance) {
        runSince.set(instance, NOT_IDLE);
    }

    /** When {@code instance}'s run in progress started; {@link #NOT_IDLE} when it runs nothing. */
    long runSince(int instance) {
        return runSince.get(instance);
    }

    /** How long the model's longest run in progress has run; 0 when none runs. */
    long longestRunNanos() {
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

    /** {@code jobs}, just taken off the queue, count as running until answered or cancelled. */
    void started(List<Job> jobs) {
        runningRequests.addAndGet(jobs.size());
    }

    /** {@code job} stops counting as running, if it still did: answered, or cancelled. */
    void stopRunning(Job job) {
        if (job.stopRunning()) {
            runningRequests.decrementAndGet();
        }
    }

    /** Requests in the batches running now whose callers still wait for them. */
    int runningRequests() {
        return runningRequests.get();
    }

    /** {@code rows} more rows run now (fewer when negative). */
    void addRunningRows(long rows) {
        runningRows.addAndGet(rows);
    }

    /**
     * How long the queue should take to drain, from the recent time per row: {@code queuedRows} and the rows of the
     * batches running, over the instances; at least 1 s.
     */
    Duration drainTime(long queuedRows) {
        double drainNanos = (queuedRows + runningRows.get()) * nanosPerRow / instances;
        return Duration.ofSeconds(Math.max(1, (long) Math.min(Long.MAX_VALUE, Math.ceil(drainNanos / 1e9))));
    }
}
