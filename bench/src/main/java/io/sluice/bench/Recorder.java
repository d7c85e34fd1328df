package io.sluice.bench;

import java.util.Map;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;

/**
 * One worker's measurements: latency of successful requests (ns), latency of rejections (429/503,
 * RESOURCE_EXHAUSTED/UNAVAILABLE: how fast the server says no) and counts of everything but success by status.
 */
final class Recorder {
    /** Latencies above this (60 s) are clamped; far beyond any request timeout in use. */
    static final long HIGHEST_NANOS = 60_000_000_000L;

    final Histogram histogram = new Histogram(HIGHEST_NANOS, 3);
    /** Latency of rejections, also counted in {@link #failures}. */
    final Histogram rejected = new Histogram(HIGHEST_NANOS, 3);
    final Map<Integer, Long> failures = new TreeMap<>();
    long sent;
    long maxLagNanos;
    /** An open loop's OK answers that came within the window, whenever their requests were due. */
    long okInWindow;

    void record(int status, long latencyNanos) {
        if (status == Status.OK) {
            histogram.recordValue(Math.min(Math.max(latencyNanos, 1), HIGHEST_NANOS));
        } else {
            if (Status.isRejection(status)) {
                rejected.recordValue(Math.min(Math.max(latencyNanos, 1), HIGHEST_NANOS));
            }
            failures.merge(status, 1L, Long::sum);
        }
    }

    /** Merges the workers' recorders into one. */
    static Recorder merge(Iterable<Recorder> recorders) {
        Recorder all = new Recorder();
        for (Recorder r : recorders) {
            all.histogram.add(r.histogram);
            all.rejected.add(r.rejected);
            r.failures.forEach((k, v) -> all.failures.merge(k, v, Long::sum));
            all.sent += r.sent;
            all.okInWindow += r.okInWindow;
            all.maxLagNanos = Math.max(all.maxLagNanos, r.maxLagNanos);
        }
        return all;
    }
}
