package io.sluice.batching;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Watches the runs callers make in an instance's place ({@link CallerRuns}): one daemon thread,
 * {@code sluice-caller-watch}, ticks every {@value #TICK_MILLIS} ms while a scheduler whose caller runs are stopped
 * on overrun is open, and has each one stop the runs that went on too long. It makes no run of its own and takes no
 * part in a request's path: a caller's run costs nothing more for being watched, and a run that overruns holds its
 * thread at most its limit, a tick or two (a tick that comes late, after a pause of the whole process, judges nothing)
 * and the graph node in progress.
 */
final class CallerWatch {

    /**
     * A tick's period. With a tick every 10 ms the tiny model's c=1 overhead read 0.014 (gRPC) and 0.024 ms (REST
     * binary) higher in the means of three A/B pairs of fresh servers (12-07, {@code bench/HISTORY.md}), about the
     * spread of one run, so the rate is a fifth of that; with the overrun limit of 100 ms a run that overruns on an
     * event loop is stopped within 150 ms, the node in progress aside.
     */
    static final long TICK_MILLIS = 50;

    private static final Logger LOG = Logger.getLogger(CallerWatch.class);
    private static final Set<ModelScheduler> WATCHED = ConcurrentHashMap.newKeySet();
    /** Ticking while {@link #WATCHED} holds a scheduler; guarded by the class. */
    private static ScheduledExecutorService ticks;
    /** When the last tick ran, on {@link System#nanoTime()}; set before the ticks start, then by the tick's thread. */
    private static long lastTick;

    private CallerWatch() {
    }

    /** Starts watching {@code scheduler}'s caller runs, and the tick with the first. */
    static synchronized void watch(ModelScheduler scheduler) {
        WATCHED.add(scheduler);
        if (ticks == null) {
            lastTick = System.nanoTime(); // before the tick's thread starts, which sees it from there
            ticks = Executors.newSingleThreadScheduledExecutor(task -> {
                Thread t = new Thread(task, "sluice-caller-watch");
                t.setDaemon(true);
                return t;
            });
            // with a fixed delay, ticks that came due in a pause of the whole process are not made up in a burst
            ticks.scheduleWithFixedDelay(CallerWatch::tick, TICK_MILLIS, TICK_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    /** Stops watching {@code scheduler}, and the tick with the last. */
    static synchronized void unwatch(ModelScheduler scheduler) {
        if (WATCHED.remove(scheduler) && WATCHED.isEmpty() && ticks != null) {
            ticks.shutdownNow();
            ticks = null;
        }
    }

    /** Whether {@code scheduler} is watched, and the tick running. */
    static synchronized boolean watches(ModelScheduler scheduler) {
        return WATCHED.contains(scheduler) && ticks != null;
    }

    /**
     * Whether a tick at {@code now} may judge the runs, the last having run at {@code lastTick} (both on {@link
     * System#nanoTime()}): not one more than two periods after it. The whole process was then held (a collection,
     * the CPU quota), and every run looks long, including a caller's of a few microseconds that the pause caught.
     */
    static boolean onTime(long lastTick, long now) {
        return now - lastTick <= 2 * TimeUnit.MILLISECONDS.toNanos(TICK_MILLIS);
    }

    private static void tick() {
        long now = System.nanoTime();
        boolean onTime = onTime(lastTick, now);
        lastTick = now;
        if (!onTime) {
            return; // nothing is judged until the next tick, which comes a period after this one
        }
        for (ModelScheduler scheduler : WATCHED) {
            try {
                scheduler.stopOverrunningCallers();
            } catch (RuntimeException | Error e) { // one scheduler's failure must not end the ticks for all
                try {
                    LOG.errorf(e, "stopping a caller's run that overran: %s", e.toString());
                } catch (RuntimeException | Error again) {
                    // out of memory: the next tick tries again
                }
            }
        }
    }
}
