package io.sluice.admission;

import io.sluice.config.ModelSettings;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * Whether a model is shedding, and so whether it admits one more request. A model starts shedding when
 * a request finds its bulkhead full: more arrives than it answers, and a full queue would make everyone
 * it admits wait for the whole queue. While shedding it admits a request only while fewer than {@link
 * ModelSettings.Shedding#queueSize()} admitted requests are not yet running, and (with a {@link
 * ModelSettings.Shedding#maxWaitShare()} below 1) only when an instance is expected to be free within
 * that share of a shedding batch's recent run time. So an admitted request waits little before its
 * batch starts, and the batch takes the requests that arrived just before it: on CPU two rows, which cost
 * less per row than one. The rest are turned away as fast as before ({@link ModelGuard} also cuts the
 * queue to that size when the shedding starts). While shedding, batches have at most {@link
 * ModelSettings.Shedding#maxBatchSize()} rows. Every {@link #WINDOW_NANOS} it looks back at the window,
 * and the first arrival after a window that shows the overload is over ends the shedding. Either of two
 * things shows it:
 * <ul>
 *   <li>the instances waited for work more than {@link #IDLE_SHARE_TO_STOP} of the window: less arrives
 *       than the model answers even in short batches;
 *   <li>at most {@link #TURNED_AWAY_SHARE_TO_STOP} of the window's arrivals were turned away: what arrives
 *       is about what the short batches answer, which the full queue and full batches answer with room
 *       to spare (batches of several rows cost less per row). Without this a load just under what the
 *       short batches answer would keep the model shedding, and turning away a request now and then,
 *       long after the overload ended.
 * </ul>
 *
 * <p>A closed loop of clients within the bulkhead never overflows it and never meets the smaller queue.
 * The queue limit counts only requests that wait, never those running, so an instance that finishes
 * while the other still runs a long batch is fed at once. Under overload an instance waits for work only
 * when nothing arrived in the short time before it was due, or when it ends sooner than expected, and
 * then only until the next arrival: the idle share stays near zero. Under a lighter load it is what the
 * load leaves over.
 *
 * <p>The state is a volatile flag and a window looked at by one thread at a time: two arrivals that
 * race may both see the old state, which costs at most one request admitted over the limit or turned
 * away under it.
 */
final class ShedMode {

    /** How long a look at the instances' idle time spans. */
    static final long WINDOW_NANOS = TimeUnit.MILLISECONDS.toNanos(500);
    /** The idle share of a window above which the shedding ends. */
    static final double IDLE_SHARE_TO_STOP = 0.1;
    /** The share of a window's arrivals turned away at or below which the shedding ends. */
    static final double TURNED_AWAY_SHARE_TO_STOP = 0.02;

    /** The model's instances, as far as shedding needs to know them. */
    interface Instances {
        /** How many there are. */
        int count();

        /** Their idle time up to {@code now}, summed over the instances. */
        long idleNanos(long now);

        /** How long from {@code now} until one is expected to be free for the next batch; 0 if one is. */
        long nanosUntilFree(long now);

        /** The recent run time of a batch of {@code rows} rows; 0 before any ran. */
        long batchNanos(int rows);

        /** From now on a batch has at most {@code rows} rows; {@link Integer#MAX_VALUE}: the policy's again. */
        void limitBatches(int rows);

        /**
         * From now on a request is queued only if its instance is expected to be free within {@code share}
         * of a full batch's run time, judged atomically with the queueing; 1 lifts the limit.
         */
        void limitWait(double share);
    }

    private final int capacity;
    private final int queueSize;
    private final int maxBatchSize;
    private final double maxWaitShare;
    private final Instances instances;
    private final LongSupplier clock;
    private volatile boolean shedding;
    private long windowStart;
    private long windowIdle;
    /** Arrivals judged while shedding in this window, and those of them turned away. */
    private final AtomicInteger arrivals = new AtomicInteger();
    private final AtomicInteger turnedAway = new AtomicInteger();

    /**
     * @param capacity requests the bulkhead admits at once
     * @param settings the queue size, batch limit and wait share while shedding
     * @param instances the model's instances, told the most rows in a batch when the shedding starts
     *     ({@code settings.maxBatchSize()}) and when it ends
     * @param clock nanoseconds, the instances' clock
     */
    ShedMode(int capacity, ModelSettings.Shedding settings, Instances instances, LongSupplier clock) {
        this.capacity = capacity;
        this.queueSize = settings.queueSize();
        this.maxBatchSize = settings.maxBatchSize();
        this.maxWaitShare = settings.maxWaitShare();
        this.instances = instances;
        this.clock = clock;
    }

    /**
     * Whether an arrival that finds {@code held} admitted, {@code running} of them in running batches, may
     * enter, as far as shedding goes (the bulkhead still has its say). The first arrival after a window
     * judges it, and ends the shedding when it showed idle instances or turned away almost nothing.
     */
    boolean admits(int held, int running) {
        if (!shedding) {
            return true;
        }
        long now = clock.getAsLong();
        if (now - windowStart >= WINDOW_NANOS && look(now)) {
            return true;
        }
        arrivals.incrementAndGet();
        if (held - running < queueSize && soonEnough(now)) {
            return true;
        }
        turnedAway.incrementAndGet();
        return false;
    }

    /** Whether an instance is expected to be free soon enough for a request admitted {@code now}. */
    private boolean soonEnough(long now) {
        if (maxWaitShare >= 1) {
            return true;
        }
        return instances.nanosUntilFree(now) <= maxWaitShare * instances.batchNanos(maxBatchSize);
    }

    /** Looks back at the window that ended; returns whether the shedding is over (ending it if so). */
    private synchronized boolean look(long now) {
        long span = now - windowStart;
        if (!shedding) {
            return true; // another arrival ended it first
        }
        if (span < WINDOW_NANOS) {
            return false; // another arrival looked first
        }
        long idle = instances.idleNanos(now);
        int came = arrivals.getAndSet(0);
        int away = turnedAway.getAndSet(0);
        if (idle - windowIdle > IDLE_SHARE_TO_STOP * instances.count() * span
                || came > 0 && away <= TURNED_AWAY_SHARE_TO_STOP * came) {
            shedding = false;
            instances.limitBatches(Integer.MAX_VALUE);
            instances.limitWait(1);
            return true;
        }
        windowStart = now;
        windowIdle = idle;
        return false;
    }

    /**
     * An arrival found {@code held} admitted and is turned away; a full bulkhead starts the shedding.
     * Returns true for the one arrival that started it.
     */
    boolean turnedAway(int held) {
        return held >= capacity && !shedding && start();
    }

    private synchronized boolean start() {
        if (shedding) {
            return false;
        }
        windowStart = clock.getAsLong();
        windowIdle = instances.idleNanos(windowStart);
        arrivals.set(0);
        turnedAway.set(0);
        instances.limitBatches(maxBatchSize);
        instances.limitWait(maxWaitShare);
        shedding = true;
        return true;
    }

    int queueSize() {
        return queueSize;
    }

    boolean shedding() {
        return shedding;
    }

    /** Requests admitted at once now, with {@code running} in running batches. */
    int limit(int running) {
        return shedding ? Math.min(capacity, running + queueSize) : capacity;
    }
}
