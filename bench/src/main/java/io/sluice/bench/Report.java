package io.sluice.bench;

import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Turns results into the printed table and the files under the results directory: {@code table.txt},
 * {@code results.json}, {@code results.csv}, {@code histograms/<scenario>.hgrm}, and for the raw
 * baseline {@code raw.json} and {@code raw.txt}.
 */
final class Report {

    /** One scenario's outcome: its result, or why it was not run, plus validation problems. */
    record Row(Scenario scenario, LoadResult result, List<String> problems, String skipped,
            RawComparison.Bracket bracket) {
        Row(Scenario scenario, LoadResult result, List<String> problems, String skipped) {
            this(scenario, result, problems, skipped, null);
        }
    }

    private Report() {
    }

    // ---- raw baseline -------------------------------------------------------------------------

    static String rawTable(List<RawBaseline.Measured> measured) {
        List<String[]> lines = new ArrayList<>();
        lines.add(new String[] {"workload", "model", "layout", "req/s", "seq/s", "p50 ms", "p99 ms", "p99.9 ms",
            "failures"});
        for (RawBaseline.Measured m : measured) {
            int rows = rowsOf(m.summary().workload());
            for (RawBaseline.Run r : m.runs()) {
                LoadResult x = r.result();
                lines.add(new String[] {m.summary().workload(), m.summary().model(), r.layout().label(),
                    num(x.throughput()), num(x.throughput() * rows * r.layout().rowsPerCall()), ms(x.percentileMs(50)),
                    ms(x.percentileMs(99)), ms(x.percentileMs(99.9)), failures(x.failures())});
            }
            if (!m.summary().problems().isEmpty()) {
                lines.add(new String[] {m.summary().workload(), m.summary().model(),
                    "PROBLEM: " + String.join("; ", m.summary().problems()), "", "", "", "", "", ""});
            }
        }
        StringBuilder out = new StringBuilder("Raw ONNX Runtime baseline (in-process, inter-op 1)\n");
        out.append(format(lines));
        for (RawBaseline.Measured m : measured) {
            RawBaseline.Summary s = m.summary();
            out.append(String.format(Locale.ROOT, "  %-12s best throughput %s req/s (%s); best c=1 p50 %s ms (%s);"
                    + " c=1 p50 with the server's intra-op %d: %s ms%s%n", s.workload(), num(s.bestThroughput()),
                    s.bestLayout(), ms(s.p50Ms()), s.latencyLayout(), s.serverIntraOp(), ms(s.sameLayoutP50Ms()),
                    s.batchedRowsPerSecond() > 0 ? "; batched " + num(s.batchedRowsPerSecond()) + " rows/s ("
                            + s.batchedLayout() + ")" : ""));
        }
        return out.toString();
    }

    static void writeRaw(Path dir, List<RawBaseline.Measured> measured) throws IOException {
        Files.createDirectories(dir);
        List<Object> workloads = new ArrayList<>();
        for (RawBaseline.Measured m : measured) {
            Map<String, Object> w = new LinkedHashMap<>();
            w.put("summary", m.summary());
            w.put("runs", m.runs().stream().map(r -> {
                Map<String, Object> run = numbers(r.result(), rowsOf(m.summary().workload()) * r.layout().rowsPerCall());
                run.put("layout", r.layout().label());
                run.put("rowsPerCall", r.layout().rowsPerCall());
                run.put("intraOpThreads", r.layout().intraOp());
                run.put("callers", r.layout().callers());
                return run;
            }).collect(Collectors.toList()));
            workloads.add(w);
        }
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("cores", Runtime.getRuntime().availableProcessors());
        root.put("onnxruntime", ai.onnxruntime.OrtEnvironment.getEnvironment().getVersion());
        root.put("workloads", workloads);
        OipJson.MAPPER.writer(SerializationFeature.INDENT_OUTPUT).writeValue(dir.resolve("raw.json").toFile(), root);
        Files.writeString(dir.resolve("raw.txt"), rawTable(measured));
    }

    // ---- scenarios --------------------------------------------------------------------------

    static String table(List<Row> rows, Map<String, RawBaseline.Summary> raw, ServerLayout layout) {
        List<String[]> lines = new ArrayList<>();
        lines.add(new String[] {"scenario", "model", "protocol", "mode", "req/s", "seq/s", "p50 ms", "p99 ms",
            "p99.9 ms", "errors", "vs raw", "vs raw batched"});
        for (Row row : rows) {
            Scenario s = row.scenario();
            String[] head = {s.name(), s.workload().model, s.protocol().label, s.modeLabel()};
            if (row.result() == null) {
                lines.add(concat(head, "-", "-", "-", "-", "-", "SKIPPED", "-", "-"));
                continue;
            }
            LoadResult r = row.result();
            String errors = failures(r.failures());
            if (!row.problems().isEmpty()) {
                errors = errors.equals("0") ? "INVALID" : errors + " INVALID";
            }
            lines.add(concat(head, num(r.throughput()), num(r.throughput() * s.workload().rows()),
                    ms(r.percentileMs(50)), ms(r.percentileMs(99)), ms(r.percentileMs(99.9)), errors,
                    RawComparison.vsRaw(s, r, raw.get(s.workload().key), layout, row.bracket()),
                    RawComparison.vsRawBatched(s, r, raw.get(s.workload().key))));
        }
        StringBuilder out = new StringBuilder(format(lines));
        out.append(RawComparison.LEGEND);
        RawComparison.notes(rows.stream().map(Row::scenario).collect(Collectors.toList()), raw, layout)
                .forEach(note -> out.append(note).append('\n'));
        for (Row row : rows) {
            if (row.skipped() != null) {
                out.append("SKIPPED ").append(row.scenario().name()).append(": ").append(row.skipped()).append('\n');
            }
            if (!row.problems().isEmpty()) {
                out.append("INVALID ").append(row.scenario().name()).append(": ")
                        .append(String.join("; ", row.problems())).append('\n');
            }
            if (row.result() != null && !row.result().note().isEmpty()) {
                out.append("NOTE ").append(row.scenario().name()).append(": ").append(row.result().note()).append('\n');
            }
        }
        return out.toString();
    }

    static void write(Path dir, List<Row> rows, Map<String, RawBaseline.Summary> raw, Settings settings)
            throws IOException {
        Files.createDirectories(dir.resolve("histograms"));
        Files.writeString(dir.resolve("table.txt"), table(rows, raw, settings.serverLayout));
        List<Map<String, Object>> records = new ArrayList<>();
        for (Row row : rows) {
            Map<String, Object> m = record(row, raw.get(row.scenario().workload().key), settings.serverLayout);
            records.add(m);
            if (row.result() != null && row.result().ok() > 0) {
                try (PrintStream p = new PrintStream(
                        dir.resolve("histograms").resolve(row.scenario().name() + ".hgrm").toFile(),
                        StandardCharsets.UTF_8)) {
                    row.result().histogram().outputPercentileDistribution(p, 1e6);
                }
            }
        }
        Map<String, Object> root = new LinkedHashMap<>();
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("warmupSeconds", settings.warmupSeconds);
        config.put("durationSeconds", settings.durationSeconds);
        config.put("timeoutSeconds", settings.timeoutSeconds);
        config.put("openMaxInFlight", settings.openMaxInFlight);
        config.put("grpcChannels", settings.grpcChannels);
        config.put("serverIntraOp", settings.serverLayout.intraOp());
        config.put("serverIntraOpDefault", ServerLayout.DEFAULT_INTRA_OP);
        config.put("cores", Runtime.getRuntime().availableProcessors());
        root.put("config", config);
        root.put("raw", raw.values());
        root.put("scenarios", records);
        OipJson.MAPPER.writer(SerializationFeature.INDENT_OUTPUT)
                .writeValue(dir.resolve("results.json").toFile(), root);
        writeCsv(dir.resolve("results.csv"), records);
    }

    private static Map<String, Object> record(Row row, RawBaseline.Summary raw, ServerLayout layout) {
        Scenario s = row.scenario();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("scenario", s.name());
        m.put("workload", s.workload().key);
        m.put("model", s.workload().model);
        m.put("seq", s.workload().seq);
        m.put("batch", s.workload().batch);
        m.put("protocol", s.protocol().label);
        m.put("mode", s.mode().name().toLowerCase(Locale.ROOT));
        m.put("concurrency", s.concurrency());
        m.put("targetRate", s.rate());
        if (row.result() != null) {
            m.putAll(numbers(row.result(), s.workload().rows()));
        }
        m.put("rawBestThroughput", raw == null ? null : raw.bestThroughput());
        m.put("rawBestP50Ms", raw == null ? null : raw.p50Ms());
        m.put("serverIntraOp", layout.intraOp(s.workload().model));
        m.put("rawIntraOp", raw == null ? null : raw.serverIntraOp());
        m.put("rawSameLayoutP50Ms", raw == null ? null : raw.sameLayoutP50Ms());
        List<Double> bracket = row.bracket() == null ? null : List.of(row.bracket().before(), row.bracket().after());
        m.put("rawBracketP50Ms", s.isLatencyScenario() ? bracket : null);
        m.put("rawBracketReqPerSec", s.isLatencyScenario() ? null : bracket);
        m.put("vsRaw", row.result() == null ? "-" : RawComparison.vsRaw(s, row.result(), raw, layout, row.bracket()));
        m.put("vsRawStart", row.result() == null ? "-" : RawComparison.vsRawStart(s, row.result(), raw, layout));
        m.put("rawBatchedRowsPerSec", raw == null || raw.batchedRowsPerSecond() <= 0 ? null : raw.batchedRowsPerSecond());
        m.put("vsRawBatchedStart", row.result() == null ? "-" : RawComparison.vsRawBatched(s, row.result(), raw));
        m.put("valid", row.problems().isEmpty() && row.skipped() == null);
        m.put("problems", String.join("; ", row.problems()));
        m.put("skipped", row.skipped());
        return m;
    }

    private static Map<String, Object> numbers(LoadResult r, int rows) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("seconds", r.seconds());
        m.put("sent", r.sent());
        m.put("ok", r.ok());
        m.put("throughput", r.throughput());
        m.put("sequencesPerSecond", r.throughput() * rows);
        m.put("meanMs", r.meanMs());
        m.put("p50Ms", r.percentileMs(50));
        m.put("p90Ms", r.percentileMs(90));
        m.put("p99Ms", r.percentileMs(99));
        m.put("p999Ms", r.percentileMs(99.9));
        m.put("maxMs", r.maxMs());
        m.put("failures", failures(r.failures()));
        m.put("rejected", r.rejected().getTotalCount());
        m.put("rejectedP50Ms", r.rejectedPercentileMs(50));
        m.put("rejectedP99Ms", r.rejectedPercentileMs(99));
        m.put("maxSendLagMs", r.maxLagMs());
        return m;
    }

    private static void writeCsv(Path file, List<Map<String, Object>> records) throws IOException {
        List<String> columns = new ArrayList<>();
        records.forEach(r -> r.keySet().forEach(k -> {
            if (!columns.contains(k)) {
                columns.add(k);
            }
        }));
        StringBuilder out = new StringBuilder(String.join(",", columns)).append('\n');
        for (Map<String, Object> r : records) {
            out.append(columns.stream().map(c -> csv(r.get(c))).collect(Collectors.joining(","))).append('\n');
        }
        Files.writeString(file, out);
    }

    private static String csv(Object value) {
        if (value == null) {
            return "";
        }
        String s = String.valueOf(value);
        return s.contains(",") || s.contains("\"") || s.contains(";") ? '"' + s.replace("\"", "\"\"") + '"' : s;
    }

    // ---- formatting --------------------------------------------------------------------------

    private static int rowsOf(String workloadKey) {
        int b = workloadKey.lastIndexOf("-b");
        return b > 0 && workloadKey.substring(b + 2).matches("\\d+") ? Integer.parseInt(workloadKey.substring(b + 2)) : 1;
    }

    static String failures(Map<String, Long> failures) {
        if (failures.isEmpty()) {
            return "0";
        }
        return failures.entrySet().stream().map(e -> e.getKey() + ":" + e.getValue()).collect(Collectors.joining(" "));
    }

    static String num(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.1f", v);
    }

    static String ms(double v) {
        if (Double.isNaN(v)) {
            return "-";
        }
        return String.format(Locale.ROOT, v < 10 ? "%.3f" : v < 100 ? "%.2f" : "%.1f", v);
    }

    private static String[] concat(String[] head, String... tail) {
        String[] out = new String[head.length + tail.length];
        System.arraycopy(head, 0, out, 0, head.length);
        System.arraycopy(tail, 0, out, head.length, tail.length);
        return out;
    }

    /** Columns padded to width; text columns left-aligned, numbers right-aligned. */
    static String format(List<String[]> lines) {
        int columns = lines.get(0).length;
        int[] width = new int[columns];
        for (String[] l : lines) {
            for (int i = 0; i < columns; i++) {
                // a long last-column message does not widen the table
                if (i < columns - 1 || l[i].length() < 40) {
                    width[i] = Math.max(width[i], l[i].length());
                }
            }
        }
        StringBuilder out = new StringBuilder();
        for (int n = 0; n < lines.size(); n++) {
            String[] l = lines.get(n);
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < columns; i++) {
                boolean numeric = n > 0 && l[i].matches("[-+]?[0-9.]+( ms( \\(intra \\d+\\))?|x)?");
                String cell = numeric ? pad(l[i], width[i], true) : pad(l[i], width[i], false);
                line.append(i == 0 ? "" : " | ").append(cell);
            }
            out.append(line.toString().stripTrailing()).append('\n');
            if (n == 0) {
                out.append("-".repeat(line.toString().stripTrailing().length())).append('\n');
            }
        }
        return out.toString();
    }

    private static String pad(String s, int width, boolean right) {
        if (s.length() >= width) {
            return s;
        }
        String fill = " ".repeat(width - s.length());
        return right ? fill + s : s + fill;
    }
}
