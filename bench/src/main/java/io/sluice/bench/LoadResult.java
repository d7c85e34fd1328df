package io.sluice.bench;

import java.util.LinkedHashMap;
import java.util.Map;
import org.HdrHistogram.Histogram;

/** What one load run measured, reduced to numbers (latencies in ms); {@code rejected}: latency of 429/503s. */
record LoadResult(Histogram histogram, long ok, Map<String, Long> failures, double seconds, long sent,
        double targetRate, double maxLagMs, String note, Histogram rejected, long okInWindow) {

    static LoadResult of(Recorder r, double seconds, double targetRate, String note) {
        Map<String, Long> failures = new LinkedHashMap<>();
        r.failures.forEach((status, count) -> failures.merge(Status.name(status), count, Long::sum));
        return new LoadResult(r.histogram, r.histogram.getTotalCount(), failures, seconds, r.sent, targetRate,
                r.maxLagNanos / 1e6, note, r.rejected, r.okInWindow);
    }

    /**
     * Answers a second. An open loop (a target rate) counts the OK answers that came within its window, whenever
     * their requests were due: counting those due in the window however late they came, a server that queues past
     * its capacity showed the offered rate as its throughput. A closed loop counts every request sent in its window.
     */
    double throughput() {
        return seconds <= 0 ? 0 : (targetRate > 0 ? okInWindow : ok) / seconds;
    }

    double percentileMs(double p) {
        return ok == 0 ? Double.NaN : histogram.getValueAtPercentile(p) / 1e6;
    }

    /** Percentile of rejection latencies in ms, NaN when there were none. */
    double rejectedPercentileMs(double p) {
        return rejected.getTotalCount() == 0 ? Double.NaN : rejected.getValueAtPercentile(p) / 1e6;
    }

    double meanMs() {
        return ok == 0 ? Double.NaN : histogram.getMean() / 1e6;
    }

    double maxMs() {
        return ok == 0 ? Double.NaN : histogram.getMaxValue() / 1e6;
    }

    long failureCount() {
        return failures.values().stream().mapToLong(Long::longValue).sum();
    }
}
