package io.sluice.bench;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The {@code vs raw} column. Throughput scenarios: req/s over the raw best req/s of the workload (any
 * thread layout). Latency scenarios (c=1, open loop): p50 minus the raw c=1 p50 measured with the same
 * intra-op threads as the server runs the model with ({@link ServerLayout}), labelled with that count.
 */
final class RawComparison {
    static final String LEGEND = String.join("\n",
            "vs raw: throughput scenarios = req/s divided by the raw best req/s of the same workload (any layout);",
            "        latency scenarios (c=1, open loop) = p50 minus the raw c=1 p50 with the server's intra-op",
            "        threads (same layout, shown as 'intra N'), in ms; 'bracket': compared with the mean of raw runs",
            "        right before and right after the scenario (--raw-bracket): for c=1 the raw c=1 p50 with the",
            "        same intra-op, for closed loops at c>1 the best raw req/s of the layouts within 10% of the best",
            "        at the start (usually the best alone); results.json also",
            "        keeps the ratio to the baseline from the start of the run (vsRawStart).",
            "vs raw batched: closed loops at c>1 = seq/s divided by raw ONNX Runtime's rows/s when each call carries",
            "        " + RawBaseline.BATCHED_ROWS + " rows (cores callers, intra-op 1; from the start of the run): the batched ceiling,",
            "        which tells the server's own batching gain from its overhead ('vs raw' compares with unbatched raw).",
            "");

    /**
     * Raw runs right before and right after one server scenario: the c=1 p50 in ms for a latency
     * scenario, the best layout's req/s for a throughput one.
     */
    record Bracket(double before, double after) {
        double mean() {
            return (before + after) / 2;
        }
    }

    private RawComparison() {
    }

    static String vsRaw(Scenario s, LoadResult r, RawBaseline.Summary raw, ServerLayout layout, Bracket bracket) {
        if (bracket != null && r.ok() > 0 && bracket.mean() > 0) {
            return s.isLatencyScenario()
                    ? String.format(Locale.ROOT, "%+.3f ms (bracket)", r.percentileMs(50) - bracket.mean())
                    : String.format(Locale.ROOT, "%.2fx (bracket)", r.throughput() / bracket.mean());
        }
        return vsRawStart(s, r, raw, layout);
    }

    /** {@link #vsRaw} against the baseline measured at the start of the run, whatever the bracket. */
    static String vsRawStart(Scenario s, LoadResult r, RawBaseline.Summary raw, ServerLayout layout) {
        if (raw == null || r.ok() == 0) {
            return "-";
        }
        if (s.isLatencyScenario()) {
            int intra = layout.intraOp(s.workload().model);
            return !sameLayout(raw, intra) || Double.isNaN(raw.sameLayoutP50Ms()) ? "-"
                    : String.format(Locale.ROOT, "%+.3f ms (intra %d)", r.percentileMs(50) - raw.sameLayoutP50Ms(),
                            intra);
        }
        return raw.bestThroughput() <= 0 ? "-"
                : String.format(Locale.ROOT, "%.2fx", r.throughput() / raw.bestThroughput());
    }

    /** Sequences/s over raw's batched rows/s, for throughput scenarios at c>1; "-" otherwise. */
    static String vsRawBatched(Scenario s, LoadResult r, RawBaseline.Summary raw) {
        if (s.isLatencyScenario() || raw == null || raw.batchedRowsPerSecond() <= 0 || r.ok() == 0) {
            return "-";
        }
        return String.format(Locale.ROOT, "%.2fx", r.throughput() * s.workload().rows() / raw.batchedRowsPerSecond());
    }

    /** Why a latency scenario's {@code vs raw} is empty although there is a baseline; one line per workload. */
    static Set<String> notes(List<Scenario> scenarios, Map<String, RawBaseline.Summary> raw, ServerLayout layout) {
        Set<String> notes = new LinkedHashSet<>();
        for (Scenario s : scenarios) {
            RawBaseline.Summary summary = raw.get(s.workload().key);
            if (!s.isLatencyScenario() || summary == null) {
                continue;
            }
            int intra = layout.intraOp(s.workload().model);
            if (!sameLayout(summary, intra)) {
                notes.add(String.format(Locale.ROOT, "RAW %s: the raw baseline's same-layout c=1 run has intra-op %s,"
                        + " the server runs %s with %d; latency 'vs raw' left empty (rerun raw with the same"
                        + " --server-intra-op)", s.workload().key,
                        summary.serverIntraOp() > 0 ? summary.serverIntraOp() : "? (older raw.json)",
                        s.workload().model, intra));
            } else if (Double.isNaN(summary.sameLayoutP50Ms())) {
                notes.add("RAW " + s.workload().key + ": no successful raw c=1 run with intra-op " + intra);
            }
        }
        return notes;
    }

    private static boolean sameLayout(RawBaseline.Summary raw, int serverIntraOp) {
        return raw.serverIntraOp() == serverIntraOp;
    }
}
