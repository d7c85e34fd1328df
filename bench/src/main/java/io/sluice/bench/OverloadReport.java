package io.sluice.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import org.HdrHistogram.Histogram;

/**
 * The overload commands' results: target rows ({@link Check}), their table, and the raw numbers written
 * to the results directory ({@code overload.json}, {@code redis.json}, {@code timeline-*.csv},
 * {@code histograms/*.hgrm}). {@code overload-report} merges the rows of both parts into {@code table.txt}.
 */
final class OverloadReport {
    static final String PASS = "PASS";
    static final String FAIL = "FAIL";
    static final String INFO = "-";

    /** One line of the table: a measured number against its target (verdict PASS/FAIL) or for information. */
    record Check(String phase, String metric, String measured, String target, String verdict) {
    }

    private OverloadReport() {
    }

    static Check check(String phase, String metric, String measured, String target, boolean passed) {
        return new Check(phase, metric, measured, target, passed ? PASS : FAIL);
    }

    static Check info(String phase, String metric, String measured) {
        return new Check(phase, metric, measured, "", INFO);
    }

    static String table(List<Check> rows) {
        List<String[]> lines = new ArrayList<>();
        lines.add(new String[] {"phase", "metric", "measured", "target", "verdict"});
        String last = null;
        for (Check c : rows) {
            lines.add(new String[] {c.phase().equals(last) ? "" : c.phase(), c.metric(), c.measured(), c.target(),
                c.verdict()});
            last = c.phase();
        }
        int[] width = new int[5];
        for (String[] l : lines) {
            for (int i = 0; i < width.length; i++) {
                width[i] = Math.max(width[i], l[i].length());
            }
        }
        StringBuilder out = new StringBuilder();
        for (int n = 0; n < lines.size(); n++) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < width.length; i++) {
                String cell = lines.get(n)[i];
                line.append(i == 0 ? "" : " | ").append(cell).append(" ".repeat(width[i] - cell.length()));
            }
            String text = line.toString().stripTrailing();
            out.append(text).append('\n');
            if (n == 0) {
                out.append("-".repeat(Arrays.stream(width).sum() + 3 * (width.length - 1))).append('\n');
            }
        }
        return out.toString();
    }

    static long failures(List<Check> rows) {
        return rows.stream().filter(c -> c.verdict().equals(FAIL)).count();
    }

    // ---- numbers -----------------------------------------------------------------------------

    static String rate(double v) {
        return Report.num(v) + " req/s";
    }

    static String ms(double v) {
        return Double.isNaN(v) ? "-" : Report.ms(v) + " ms";
    }

    static String seconds(double v) {
        return String.format(Locale.ROOT, "%.2f s", v);
    }

    static String statuses(Map<String, Long> statuses) {
        if (statuses.isEmpty()) {
            return "none";
        }
        return statuses.entrySet().stream().map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", "));
    }

    /** The raw numbers of one open-loop phase, for the JSON file. */
    static Map<String, Object> phaseJson(OpenSchedule.Phase p) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", p.name());
        m.put("offeredRate", p.rate());
        m.put("seconds", p.seconds());
        m.put("planned", p.planned());
        m.put("sent", p.sent());
        m.put("answered", p.answered());
        m.put("dropped", p.dropped());
        m.put("unanswered", p.unanswered());
        m.put("ok", p.okCount());
        m.put("goodput", p.goodput());
        m.put("rejected", p.rejectedCount());
        m.put("rejectionsWithRetryHint", p.hinted(Status::isRejection));
        m.put("statuses", p.statuses());
        m.put("okMs", percentiles(p.ok()));
        m.put("rejectedMs", percentiles(p.rejected()));
        m.put("rejectedFromSendMs", percentiles(p.rejectedFromSend()));
        m.put("maxSendLagMs", p.maxLagMs());
        m.put("bucketSeconds", p.bucketSeconds());
        m.put("timeline", p.timeline());
        return m;
    }

    /** The raw numbers of a closed-loop run. */
    static Map<String, Object> closedJson(LoadResult r, int concurrency, double warmupSeconds) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("concurrency", concurrency);
        m.put("warmupSeconds", warmupSeconds);
        m.put("seconds", r.seconds());
        m.put("sent", r.sent());
        m.put("ok", r.ok());
        m.put("goodput", r.throughput());
        m.put("failures", r.failures());
        m.put("okMs", percentiles(r.histogram()));
        m.put("rejectedMs", percentiles(r.rejected()));
        m.put("note", r.note());
        return m;
    }

    static Map<String, Object> percentiles(Histogram h) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("count", h.getTotalCount());
        if (h.getTotalCount() > 0) {
            m.put("mean", h.getMean() / 1e6);
            for (double p : new double[] {50, 90, 99, 99.9}) {
                m.put("p" + (p == 99.9 ? "99.9" : String.valueOf((int) p)), h.getValueAtPercentile(p) / 1e6);
            }
            m.put("max", h.getMaxValue() / 1e6);
        }
        return m;
    }

    /** {@code histograms/<name>-ok.hgrm} and {@code -rejected.hgrm}, and {@code timeline-<name>.csv}. */
    static void writePhaseFiles(Path dir, OpenSchedule.Phase p) throws IOException {
        Path h = dir.resolve("histograms");
        Files.createDirectories(h);
        writeHistogram(h.resolve(p.name() + "-ok.hgrm"), p.ok());
        writeHistogram(h.resolve(p.name() + "-rejected.hgrm"), p.rejected());
        StringBuilder csv = new StringBuilder("start_s,offered,ok,rejected,other,ok_p99_ms\n");
        for (OpenSchedule.Bucket b : p.timeline()) {
            csv.append(String.format(Locale.ROOT, "%.3f,%d,%d,%d,%d,%s%n", b.startSeconds(), b.offered(), b.ok(),
                    b.rejected(), b.other(), Double.isNaN(b.p99Ms()) ? "" : String.format(Locale.ROOT, "%.3f", b.p99Ms())));
        }
        Files.writeString(dir.resolve("timeline-" + p.name() + ".csv"), csv);
    }

    static void writeHistogram(Path file, Histogram histogram) throws IOException {
        if (histogram.getTotalCount() == 0) {
            return;
        }
        try (PrintStream p = new PrintStream(file.toFile(), StandardCharsets.UTF_8)) {
            histogram.outputPercentileDistribution(p, 1e6);
        }
    }

    /** Writes {@code <dir>/<name>.json}: the config, the rows and the raw numbers. */
    static void writeJson(Path dir, String name, Map<String, Object> config, List<Check> rows, Map<String, Object> raw)
            throws IOException {
        Files.createDirectories(dir);
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("config", config);
        root.put("rows", rows);
        root.putAll(raw);
        OipJson.MAPPER.writer(SerializationFeature.INDENT_OUTPUT).writeValue(dir.resolve(name + ".json").toFile(), root);
    }

    // ---- overload-report ---------------------------------------------------------------------

    /** Prints and writes {@code table.txt} from the parts found in {@code dir}; 0 when every target passed. */
    static int report(Path dir) throws IOException {
        List<Check> rows = new ArrayList<>();
        StringBuilder head = new StringBuilder();
        List<String> missing = new ArrayList<>();
        Map<String, JsonNode> configs = new LinkedHashMap<>();
        for (String part : List.of("overload", "redis")) {
            Path file = dir.resolve(part + ".json");
            if (!Files.exists(file)) {
                missing.add(part);
                continue;
            }
            JsonNode root = OipJson.MAPPER.readTree(file.toFile());
            configs.put(part, root.path("config"));
            head.append(root.path("config").path("title").asText(part)).append('\n');
            for (JsonNode r : root.path("rows")) {
                rows.add(new Check(r.path("phase").asText(), r.path("metric").asText(), r.path("measured").asText(),
                        r.path("target").asText(), r.path("verdict").asText()));
            }
        }
        StringBuilder out = new StringBuilder("Sluice overload behaviour\n").append(head);
        if (rows.isEmpty()) {
            out.append("no results in ").append(dir).append('\n');
        } else {
            out.append(table(rows));
        }
        double x = configs.containsKey("overload") ? configs.get("overload").path("saturatedGoodput").asDouble(0) : 0;
        double limit = configs.containsKey("redis") ? configs.get("redis").path("rateLimit").asDouble(0) : 0;
        if (x > 0 && limit > 0.5 * x) {
            out.append(String.format(Locale.ROOT, "NOTE: the Redis run's limit L = %s is more than half the saturated"
                    + " goodput X = %s: its 503s / UNAVAILABLE may come from the bulkhead, not from Redis"
                    + " (try a smaller --redis-rate)%n", rate(limit), rate(x)));
        }
        long failed = failures(rows);
        long passed = rows.stream().filter(c -> c.verdict().equals(PASS)).count();
        out.append(String.format(Locale.ROOT, "targets: %d passed, %d failed%s%n", passed, failed,
                missing.isEmpty() ? "" : " (not run: " + String.join(", ", missing) + ")"));
        Files.writeString(dir.resolve("table.txt"), out);
        System.out.print(out);
        return rows.isEmpty() ? 2 : failed == 0 ? 0 : 1;
    }
}
