package io.sluice.admission;

import io.sluice.config.ModelSettings;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import java.util.function.LongSupplier;
import java.util.function.LongUnaryOperator;

/**
 * Whether a model is shedding, and so whether it admits one more request. A model starts shedding when
 * a request finds its bulkhead full: more arrives than it answers, and a full queue would make everyone
 * it admits wait for the whole queue. While shedding it admits a request only while fewer than {@link
 * ModelSettings.Shedding#queueSize()} admitted requests are not yet running, so an admitted request waits
 * for one short batch, and the rest are turned away as fast as before ({@link ModelGuard} also cuts the
 * queue to that size when the shedding starts). While shedding, batches have at most {@link
 * ModelSettings.Shedding#maxBatchSize()} rows (on CPU one), so that short batch is one row. Every
 * {@link #WINDOW_NANOS} it looks back at the window, and the first arrival after a window that shows the
 * overload is over ends the shedding. Either of two things shows it:
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
 * while the other still runs a long batch is fed at once: an instance waits for work only when nothing
 * is queued for it and nothing is being turned away for it. Under overload the idle share so stays near
 * zero; under a lighter load it is what the load leaves over.
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

    private final int capacity;
    private final int queueSize;
    private final int maxBatchSize;
    private final int instances;
    private final LongSupplier clock;
    private final LongUnaryOperator idleNanos;
    private final IntConsumer batchLimit;
    private volatile boolean shedding;
    private long windowStart;
    private long windowIdle;
    /** Arrivals judged while shedding in this window, and those of them turned away. */
    private final AtomicInteger arrivals = new AtomicInteger();
    private final AtomicInteger turnedAway = new AtomicInteger();

    /**
     * @param capacity requests the bulkhead admits at once
     * @param settings the queue size while shedding
     * @param instances the model's instances
     * @param clock nanoseconds, the clock of {@code idleNanos}
     * @param idleNanos the instances' idle time up to a time on {@code clock}, summed over the instances
     * @param batchLimit told the most rows in a batch when the shedding starts ({@code
     *     settings.maxBatchSize()}) and when it ends ({@link Integer#MAX_VALUE}: the policy's again)
     */
    ShedMode(int capacity, ModelSettings.Shedding settings, int instances, LongSupplier clock,
            LongUnaryOperator idleNanos, IntConsumer batchLimit) {
        this.capacity = capacity;
        this.queueSize = settings.queueSize();
        this.maxBatchSize = settings.maxBatchSize();
        this.batchLimit = batchLimit;
        this.instances = instances;
        this.clock = clock;
        this.idleNanos = idleNanos;
    }

    /**
     * Whether an arrival that finds {@code held} admitted, {@code running} of them in running batches, may
     * enter, as far as shedding goes; counts nothing. The first arrival after a window judges it, and ends the
     * shedding when it showed idle instances or turned away almost nothing.
     */
    boolean judge(int held, int running) {
        if (!shedding) {
            return true;
        }
        long now = clock.getAsLong();
        if (now - windowStart >= WINDOW_NANOS && look(now)) {
            return true;
        }
        return held - running < queueSize;
    }

    /** Counts one arrival for the window while shedding: admitted, or turned away. */
    void count(boolean admitted) {
        if (shedding) {
            arrivals.incrementAndGet();
            if (!admitted) {
                turnedAway.incrementAndGet();
            }
        }
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
        long idle = idleNanos.applyAsLong(now);
        int came = arrivals.getAndSet(0);
        int away = turnedAway.getAndSet(0);
        if (showsItOver(idle - windowIdle, span, came, away)) {
            shedding = false;
            batchLimit.accept(Integer.MAX_VALUE);
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
        windowIdle = idleNanos.applyAsLong(windowStart);
        arrivals.set(0);
        turnedAway.set(0);
        batchLimit.accept(maxBatchSize);
        shedding = true;
        return true;
    }

    int queueSize() {
        return queueSize;
    }

    /** Arrivals counted in the window so far, and those of them turned away: for tests. */
    int[] windowCounts() {
        return new int[] {arrivals.get(), turnedAway.get()};
    }

    boolean shedding() {
        return shedding;
    }

    /**
     * Requests the next arrival may find admitted, with {@code running} in running batches: the capacity once the
     * window the next arrival would judge shows the shedding over (an idle model keeps its shedding flag until an
     * arrival ends it, but not its lower limit). Ends nothing.
     */
    int limit(int running) {
        return shedding && !overAtNextArrival() ? Math.min(capacity, running + queueSize) : capacity;
    }

    /** Whether the next arrival would end the shedding, as {@link #look} judges; resets nothing. */
    private synchronized boolean overAtNextArrival() {
        long now = clock.getAsLong();
        long span = now - windowStart;
        if (!shedding || span < WINDOW_NANOS) {
            return !shedding;
        }
        return showsItOver(idleNanos.applyAsLong(now) - windowIdle, span, arrivals.get(), turnedAway.get());
    }

    /**
     * Whether a window of {@code span} nanoseconds, the instances idle {@code idle} of it in all, with {@code came}
     * arrivals and {@code away} of them turned away, shows the overload over.
     */
    private boolean showsItOver(long idle, long span, int came, int away) {
        return idle > IDLE_SHARE_TO_STOP * instances * span || came > 0 && away <= TURNED_AWAY_SHARE_TO_STOP * came;
    }
}
