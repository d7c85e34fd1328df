package io.sluice.bench;

import java.util.Map;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;

/** One worker's measurements: latency of successful requests (ns) and counts of the others by status. */
final class Recorder {
    /** Latencies above this (60 s) are clamped; far beyond any request timeout in use. */
    static final long HIGHEST_NANOS = 60_000_000_000L;

    final Histogram histogram = new Histogram(HIGHEST_NANOS, 3);
    final Map<Integer, Long> failures = new TreeMap<>();
    long sent;
    long maxLagNanos;

    void record(int status, long latencyNanos) {
        if (status == Status.OK) {
            histogram.recordValue(Math.min(Math.max(latencyNanos, 1), HIGHEST_NANOS));
        } else {
            failures.merge(status, 1L, Long::sum);
        }
    }

    /** Merges the workers' recorders into one. */
    static Recorder merge(Iterable<Recorder> recorders) {
        Recorder all = new Recorder();
        for (Recorder r : recorders) {
            all.histogram.add(r.histogram);
            r.failures.forEach((k, v) -> all.failures.merge(k, v, Long::sum));
            all.sent += r.sent;
            all.maxLagNanos = Math.max(all.maxLagNanos, r.maxLagNanos);
        }
        return all;
    }
}
