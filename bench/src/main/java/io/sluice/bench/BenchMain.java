package io.sluice.bench;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Entry point: {@code list}, {@code raw} (ONNX Runtime baseline), {@code load} (against the server), and the
 * overload commands {@code overload}, {@code redis-outage}, {@code overload-report} (bench/overload.sh).
 */
public final class BenchMain {
    private BenchMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0 || args[0].equals("-h") || args[0].equals("--help")) {
            System.out.println(Settings.USAGE);
            return;
        }
        Settings settings;
        List<Scenario> scenarios;
        try {
            settings = Settings.parse(java.util.Arrays.copyOfRange(args, 1, args.length));
            switch (args[0]) {
                case "overload":
                    System.exit(Overload.run(settings));
                    return;
                case "redis-outage":
                    System.exit(RedisOutage.run(settings));
                    return;
                case "overload-report":
                    System.exit(OverloadReport.report(settings.out));
                    return;
                default:
                    break;
            }
            scenarios = ScenarioPlan.select(settings.scenarios, settings);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(64);
            return;
        }
        int code;
        switch (args[0]) {
            case "list":
                code = list(settings, scenarios);
                break;
            case "raw":
                code = raw(settings, scenarios);
                break;
            case "load":
                code = load(settings, scenarios);
                break;
            default:
                System.err.println("unknown command '" + args[0] + "'\n" + Settings.USAGE);
                code = 64;
        }
        System.exit(code);
    }

    private static int list(Settings settings, List<Scenario> scenarios) {
        for (Scenario s : scenarios) {
            System.out.printf("%-28s %-24s %-10s %s%n", s.name(), s.workload().model, s.protocol().label,
                    s.modeLabel());
        }
        List<Workload> distinct = ScenarioPlan.workloads(scenarios);
        int workloads = distinct.size();
        int rawLayouts = distinct.stream()
                .mapToInt(w -> RawBaseline.layouts(settings.serverLayout.intraOp(w.model)).size()).sum();
        double rawSeconds = rawLayouts * (settings.rawWarmupSeconds + settings.rawDurationSeconds);
        long closed = scenarios.stream().filter(s -> s.mode() == Scenario.Mode.CLOSED).count();
        double bracketSeconds = settings.rawBracketSeconds > 0 ? closed * 2 * (2 + settings.rawBracketSeconds) : 0;
        double loadSeconds = settings.serverWarmupSeconds + bracketSeconds
                + scenarios.size() * (settings.warmupSeconds + settings.durationSeconds + 1);
        System.out.printf(Locale.ROOT, "%d scenarios over %d workloads: about %.0f s raw baseline + %.0f s load%n",
                scenarios.size(), workloads, rawSeconds, loadSeconds);
        System.out.println("server intra-op threads (latency 'vs raw' compares with raw c=1 at the same count): "
                + distinct.stream().map(w -> w.model).distinct()
                        .map(m -> m + " " + settings.serverLayout.intraOp(m)).collect(Collectors.joining(", ")));
        return 0;
    }

    private static int raw(Settings settings, List<Scenario> scenarios) throws Exception {
        RawBaseline baseline = new RawBaseline(settings);
        List<RawBaseline.Measured> measured = new ArrayList<>();
        for (Workload w : ScenarioPlan.workloads(scenarios)) {
            RawBaseline.Measured m = baseline.measure(w);
            m.summary().problems().forEach(p -> System.out.println("  raw " + w.key + " PROBLEM: " + p));
            measured.add(m);
        }
        Report.writeRaw(settings.out, measured);
        System.out.println();
        System.out.print(Report.rawTable(measured));
        return measured.stream().allMatch(m -> m.summary().problems().isEmpty()) ? 0 : 1;
    }

    private static int load(Settings settings, List<Scenario> scenarios) throws Exception {
        Map<String, RawBaseline.Summary> raw = RawBaseline.readSummaries(settings.raw);
        if (raw.isEmpty()) {
            System.out.println("no raw baseline at " + settings.raw + ": 'vs raw' stays empty and o<pct> "
                    + "open-loop scenarios are skipped");
        }
        LoadGenerator generator = new LoadGenerator(settings.warmupSeconds, settings.durationSeconds,
                settings.timeoutSeconds, settings.maxRequests);
        warmServer(scenarios, settings);
        Brackets brackets = settings.rawBracketSeconds > 0 ? new Brackets(new RawBaseline(settings), settings) : null;
        List<Report.Row> rows = new ArrayList<>();
        for (Scenario scenario : scenarios) {
            Report.Row row = runOne(scenario, raw, generator, settings, brackets);
            rows.add(row);
            printProgress(row);
            Thread.sleep(500); // let the server settle between scenarios
        }
        Files.createDirectories(settings.out);
        Report.write(settings.out, rows, raw, settings);
        System.out.println();
        System.out.print(Report.table(rows, raw, settings.serverLayout));
        System.out.println("results: " + settings.out.toAbsolutePath());
        return rows.stream().allMatch(BenchMain::clean) ? 0 : 1;
    }

    /**
     * A scenario that ran, whose first answer was right and none of whose requests failed in its window: a timeout,
     * an I/O error or an error status is a fault. A request the server turned away (429 or 503, with or without a
     * hint) or the generator could not send in time is not: an open loop at a fraction of the raw rate measured at
     * the start meets a model that sheds on a slow hour, as designed, and the table shows how many.
     */
    static boolean clean(Report.Row row) {
        return row.skipped() == null && row.problems().isEmpty()
                && (row.result() == null || row.result().failures().entrySet().stream()
                        .noneMatch(f -> f.getValue() > 0 && Status.isFault(f.getKey())));
    }

    /**
     * Runs every distinct workload/protocol pair of the closed-loop scenarios at c=4 for an equal share of
     * {@code --server-warmup}, unrecorded. A fresh server JVM compiles its request path for minutes; without
     * this the first scenarios measured the JIT (the same gRPC scenario went 0.77, 0.86, 0.84, 0.90 x raw
     * over four consecutive runs on one new server).
     */
    private static void warmServer(List<Scenario> scenarios, Settings settings) {
        List<Scenario> pairs = new ArrayList<>();
        for (Scenario s : scenarios) {
            boolean seen = pairs.stream().anyMatch(p -> p.workload().key.equals(s.workload().key)
                    && p.protocol() == s.protocol());
            if (s.mode() == Scenario.Mode.CLOSED && !seen) {
                pairs.add(s);
            }
        }
        if (pairs.isEmpty() || settings.serverWarmupSeconds <= 0) {
            return;
        }
        double share = Math.max(1, settings.serverWarmupSeconds / pairs.size());
        System.out.printf(Locale.ROOT, "warming the server: %d workload/protocol pairs, %.0f s each at c=4%n",
                pairs.size(), share);
        LoadGenerator warm = new LoadGenerator(0, share, settings.timeoutSeconds, settings.maxRequests);
        for (Scenario s : pairs) {
            try (ServerClients clients = new ServerClients(s.protocol(), s.workload(), settings)) {
                warm.closed(clients, 4);
            } catch (RuntimeException e) {
                System.out.println("  warm-up of " + s.workload().key + " over " + s.protocol().label + " failed: " + e);
            }
        }
    }

    private static Report.Row runOne(Scenario scenario, Map<String, RawBaseline.Summary> raw,
            LoadGenerator generator, Settings settings, Brackets brackets) {
        if (scenario.needsRawRate()) {
            RawBaseline.Summary summary = raw.get(scenario.workload().key);
            if (summary == null || summary.bestThroughput() <= 0) {
                return new Report.Row(scenario, null, List.of(), "no raw baseline throughput to take "
                        + (int) scenario.percentOfRaw() + "% of");
            }
            scenario = scenario.withRate(summary.bestThroughput() * scenario.percentOfRaw() / 100);
        }
        try (ServerClients clients = new ServerClients(scenario.protocol(), scenario.workload(), settings)) {
            List<String> problems;
            try (InferClient probe = clients.create(0)) {
                InferClient.Response first = probe.inferDecoded();
                problems = Validator.check(scenario.workload(), probe.inputs(), first);
                if (first.status() != Status.OK) {
                    return new Report.Row(scenario, null, List.of(), "first request failed: "
                            + String.join("; ", problems));
                }
            }
            boolean bracketed = brackets != null && scenario.mode() == Scenario.Mode.CLOSED;
            RawBaseline.Summary summary = raw.get(scenario.workload().key);
            double before = bracketed ? brackets.measure(scenario, summary) : Double.NaN;
            LoadResult result = scenario.mode() == Scenario.Mode.CLOSED
                    ? generator.closed(clients, scenario.concurrency())
                    : generator.open(clients, scenario.rate(), settings.openMaxInFlight);
            double after = bracketed ? brackets.measure(scenario, summary) : Double.NaN;
            return new Report.Row(scenario, result, problems, null,
                    bracketed ? new RawComparison.Bracket(before, after) : null);
        } catch (RuntimeException e) {
            return new Report.Row(scenario, null, List.of(), "client failure: " + e);
        }
    }

    /**
     * Raw runs next to a server closed-loop scenario: the machine's speed drifts by more than the 1 ms the
     * c=1 target allows between the raw baseline at the start of a run and a scenario minutes later
     * (the same comparison gave -3.6 ms in one run and +3.5 ms in the next), and its throughput by more
     * than the 3 % the saturation targets leave (raw int8 measured 198.7 and 221.4 req/s at the start of
     * two runs the same morning), so each closed-loop scenario is compared with raw measured right before
     * and right after it, on the same cores, at the same time: c=1 with the raw c=1 p50 at the server's
     * intra-op count, c>1 with the raw throughput of the best layout the baseline found.
     */
    private record Brackets(RawBaseline baseline, Settings settings) {
        /**
         * The raw c=1 p50 in ms (c=1) or the best req/s of the layouts near the best at the start (c>1, {@link
         * RawBaseline.Summary#bracketLayouts}); NaN when it cannot be measured or, for c>1, the baseline named no
         * best layout.
         */
        double measure(Scenario scenario, RawBaseline.Summary summary) {
            int intraOp = settings.serverLayout.intraOp(scenario.workload().model);
            try {
                if (scenario.concurrency() == 1) {
                    LoadResult r = baseline.oneCaller(scenario.workload(), intraOp, 2, settings.rawBracketSeconds);
                    return r.ok() == 0 ? Double.NaN : r.percentileMs(50);
                }
                double best = Double.NaN;
                for (String label : summary == null ? List.<String>of() : summary.bracketLayouts()) {
                    var layout = RawBaseline.layout(label, intraOp);
                    if (layout.isPresent()) {
                        LoadResult r = baseline.run(scenario.workload(), layout.get(), 2, settings.rawBracketSeconds);
                        if (r.ok() > 0 && !(r.throughput() <= best)) {
                            best = r.throughput();
                        }
                    }
                }
                return best;
            } catch (ai.onnxruntime.OrtException | RuntimeException e) {
                System.out.println("  raw bracket of " + scenario.name() + " failed: " + e);
                return Double.NaN;
            }
        }
    }

    private static void printProgress(Report.Row row) {
        Scenario s = row.scenario();
        if (row.result() == null) {
            System.out.printf("%-28s SKIPPED: %s%n", s.name(), row.skipped());
            return;
        }
        LoadResult r = row.result();
        System.out.printf(Locale.ROOT, "%-28s %-22s %9.1f req/s  p50 %s  p99 %s  p99.9 %s ms  errors %s%s%s%n",
                s.name(), s.modeLabel(), r.throughput(), Report.ms(r.percentileMs(50)), Report.ms(r.percentileMs(99)),
                Report.ms(r.percentileMs(99.9)), Report.failures(r.failures()),
                row.bracket() == null ? "" : s.isLatencyScenario()
                        ? String.format(Locale.ROOT, "  (raw c=1 p50 before / after: %s / %s ms)",
                                Report.ms(row.bracket().before()), Report.ms(row.bracket().after()))
                        : String.format(Locale.ROOT, "  (raw best layout before / after: %.1f / %.1f req/s)",
                                row.bracket().before(), row.bracket().after()),
                row.problems().isEmpty() ? "" : "  INVALID: " + String.join("; ", row.problems()));
    }
}
