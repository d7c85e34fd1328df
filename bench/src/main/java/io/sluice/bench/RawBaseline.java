package io.sluice.bench;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The same model file run in-process with the ONNX Runtime Java API, no server in between: what the
 * server's numbers are compared with. Per workload it measures three thread layouts, each a closed loop
 * through {@link LoadGenerator}: one caller with intra-op 1, one caller with intra-op = cores, and
 * cores callers sharing one session with intra-op 1, plus one caller with the server's intra-op count
 * ({@link ServerLayout}) if that is none of these. Saturated throughput is the best of all; single-call
 * latency is kept twice: the best p50 of the one-caller layouts, and the p50 of the one caller with the
 * server's intra-op count (the same layout, what latency scenarios compare with). Inter-op is 1 throughout.
 * For MiniLM one more layout feeds {@link #BATCHED_ROWS} rows per call: the batched ceiling, in rows/s.
 */
final class RawBaseline {
    record Layout(String label, int intraOp, int callers, int rowsPerCall) {
        Layout(String label, int intraOp, int callers) {
            this(label, intraOp, callers, 1);
        }
    }

    /**
     * Rows per call of the batched layout, for MiniLM: the bundled MiniLM's {@code batching.max-batch-size}, the
     * most the server puts in one run. The batched layout is not a candidate for the best throughput, which
     * stays per request and unbatched (what the targets compare with); it is the batched ceiling
     * reported beside it, so that the server's own batching gain can be told from its overhead.
     */
    static final int BATCHED_ROWS = 4;

    record Run(Layout layout, LoadResult result) {
    }

    /**
     * One workload's baseline, reduced to what the comparison needs: best throughput, best c=1 latency
     * ({@code p50Ms}, {@code p99Ms}, {@code latencyLayout}) and the c=1 p50 with the server's intra-op
     * count ({@code serverIntraOp}, {@code sameLayoutP50Ms}; NaN if not measured, 0 in an older raw.json).
     * {@code nearBestLayouts}: the unbatched layouts within {@link #NEAR_BEST} of the best at the start, the best
     * first, which a bracket measures again (null in an older raw.json: the best alone).
     */
    record Summary(String workload, String model, String modelFile, double bestThroughput, String bestLayout,
            double p50Ms, double p99Ms, String latencyLayout, int serverIntraOp, double sameLayoutP50Ms,
            List<String> problems, double batchedRowsPerSecond, String batchedLayout, List<String> nearBestLayouts) {

        /** The layouts a bracket measures: those near the best, or the best alone. */
        List<String> bracketLayouts() {
            return nearBestLayouts != null && !nearBestLayouts.isEmpty() ? nearBestLayouts
                    : bestLayout == null ? List.of() : List.of(bestLayout);
        }
    }

    /**
     * How close to the best a layout's start throughput must be to be bracketed too: one measurement at the start
     * can put the wrong layout first (run 94's fp32 seq 128 measured two callers at 70.8 req/s, under one caller
     * with two threads at 72.0, in a slow moment; then two callers made 100–106, one caller 72–75).
     */
    static final double NEAR_BEST = 0.10;

    /** The labels of the unbatched {@code runs} within {@link #NEAR_BEST} of the best, the best first. */
    static List<String> nearBest(List<Run> runs) {
        List<Run> unbatched = runs.stream().filter(r -> r.layout().rowsPerCall() == 1 && r.result().ok() > 0)
                .sorted(Comparator.comparingDouble((Run r) -> r.result().throughput()).reversed()).toList();
        if (unbatched.isEmpty()) {
            return List.of();
        }
        double floor = unbatched.get(0).result().throughput() * (1 - NEAR_BEST);
        return unbatched.stream().filter(r -> r.result().throughput() >= floor).map(r -> r.layout().label()).toList();
    }

    private final Settings settings;
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();

    RawBaseline(Settings settings) {
        this.settings = settings;
    }

    /** The layouts measured for a model the server runs with {@code serverIntraOp} intra-op threads. */
    static List<Layout> layouts(int serverIntraOp) {
        int cores = Runtime.getRuntime().availableProcessors();
        List<Layout> layouts = new ArrayList<>();
        layouts.add(oneCaller(1));
        if (cores > 1) {
            layouts.add(oneCaller(cores));
            layouts.add(new Layout("c=" + cores + " intra=1", 1, cores));
        }
        if (serverIntraOp != 1 && serverIntraOp != cores) {
            layouts.add(oneCaller(serverIntraOp));
        }
        return layouts;
    }

    private static Layout oneCaller(int intraOp) {
        return new Layout("c=1 intra=" + intraOp, intraOp, 1);
    }

    /** One workload's baseline: the summary and every layout's run. */
    record Measured(Summary summary, List<Run> runs) {
    }

    /** Runs every layout for {@code workload}; problems (missing model, bad output) end up in the summary. */
    Measured measure(Workload workload) {
        List<Run> runs = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        int serverIntraOp = settings.serverLayout.intraOp(workload.model);
        Optional<Path> file = modelFile(workload.model);
        if (file.isEmpty()) {
            problems.add("no " + workload.model + "/<version>/model.onnx under " + settings.modelRepos);
        }
        List<Layout> layouts = new ArrayList<>(file.isPresent() ? layouts(serverIntraOp) : List.<Layout>of());
        if (file.isPresent() && workload.kind == Workload.Kind.MINILM && workload.batch == 1) {
            int cores = Runtime.getRuntime().availableProcessors();
            layouts.add(new Layout("c=" + cores + " intra=1 rows=" + BATCHED_ROWS, 1, cores, BATCHED_ROWS));
        }
        for (Layout layout : layouts) {
            try (OrtSession.SessionOptions options = options(layout.intraOp())) {
                try (OrtSession session = env.createSession(file.get().toString(), options)) {
                    Workload fed = layout.rowsPerCall() == 1 ? workload
                            : Workload.parse(workload.key + "-b" + layout.rowsPerCall(), settings);
                    ClientFactory clients = clients(session, fed);
                    if (runs.isEmpty()) {
                        try (InferClient probe = clients.create(0)) {
                            problems.addAll(Validator.check(workload, probe.inputs(), probe.inferDecoded()));
                        }
                    }
                    LoadGenerator generator = new LoadGenerator(settings.rawWarmupSeconds,
                            settings.rawDurationSeconds, settings.timeoutSeconds, settings.maxRequests);
                    LoadResult result = generator.closed(clients, layout.callers());
                    runs.add(new Run(layout, result));
                    if (result.failureCount() > 0 || !result.note().isEmpty()) { // a baseline that failed calls is low
                        problems.add(layout.label() + ": " + Report.failures(result.failures())
                                + (result.note().isEmpty() ? "" : " (" + result.note() + ")"));
                    }
                    System.out.printf("  raw %-12s %-21s %9.1f req/s %9.1f rows/s  p50 %8.3f ms  p99 %8.3f ms%s%n",
                            workload.key, layout.label(), result.throughput(),
                            result.throughput() * layout.rowsPerCall(), result.percentileMs(50), result.percentileMs(99),
                            result.failureCount() > 0 ? "  failures " + result.failures() : "");
                }
            } catch (OrtException | RuntimeException e) {
                problems.add(layout.label() + ": " + e);
            }
        }
        Run best = runs.stream().filter(r -> r.layout().rowsPerCall() == 1)
                .max(Comparator.comparingDouble(r -> r.result().throughput())).orElse(null);
        Run batched = runs.stream().filter(r -> r.layout().rowsPerCall() > 1)
                .max(Comparator.comparingDouble(r -> r.result().throughput())).orElse(null);
        Run fastest = runs.stream().filter(r -> r.layout().callers() == 1 && r.result().ok() > 0)
                .min(Comparator.comparingDouble(r -> r.result().percentileMs(50))).orElse(null);
        Run same = runs.stream().filter(r -> r.layout().equals(oneCaller(serverIntraOp)) && r.result().ok() > 0)
                .findFirst().orElse(null);
        Summary summary = new Summary(workload.key, workload.model, file.map(Path::toString).orElse(null),
                best == null ? 0 : best.result().throughput(), best == null ? null : best.layout().label(),
                fastest == null ? Double.NaN : fastest.result().percentileMs(50),
                fastest == null ? Double.NaN : fastest.result().percentileMs(99),
                fastest == null ? null : fastest.layout().label(), serverIntraOp,
                same == null ? Double.NaN : same.result().percentileMs(50), problems,
                batched == null ? 0 : batched.result().throughput() * batched.layout().rowsPerCall(),
                batched == null ? null : batched.layout().label(), nearBest(runs));
        return new Measured(summary, runs);
    }

    /**
     * One caller with {@code intraOp} threads on a session of its own, {@code seconds} measured after
     * {@code warmupSeconds}: the raw c=1 latency right next to a server run (a bracket), so that both
     * see the machine in the same state.
     */
    LoadResult oneCaller(Workload workload, int intraOp, double warmupSeconds, double seconds) throws OrtException {
        return run(workload, oneCaller(intraOp), warmupSeconds, seconds);
    }

    /**
     * {@code layout} alone, {@code seconds} measured after {@code warmupSeconds}: with the best layout, the
     * raw saturated throughput right next to a server run.
     */
    LoadResult run(Workload workload, Layout layout, double warmupSeconds, double seconds) throws OrtException {
        Path file = modelFile(workload.model).orElseThrow(() -> new IllegalStateException(
                "no " + workload.model + "/<version>/model.onnx under " + settings.modelRepos));
        try (OrtSession.SessionOptions options = options(layout.intraOp());
                OrtSession session = env.createSession(file.toString(), options)) {
            return new LoadGenerator(warmupSeconds, seconds, settings.timeoutSeconds, settings.maxRequests)
                    .closed(clients(session, workload), layout.callers());
        }
    }

    /** The layout {@link #layouts(int)} calls {@code label} for a model the server runs with {@code serverIntraOp}. */
    static Optional<Layout> layout(String label, int serverIntraOp) {
        return layouts(serverIntraOp).stream().filter(l -> l.label().equals(label)).findFirst();
    }

    /** The server's session options (inter-op 1, sequential, all graph optimisations) with {@code intraOp}. */
    private static OrtSession.SessionOptions options(int intraOp) throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(intraOp);
        options.setInterOpNumThreads(1);
        options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        return options;
    }

    private ClientFactory clients(OrtSession session, Workload workload) {
        return new ClientFactory() {
            @Override
            public InferClient create(int index) {
                try {
                    return new OrtClient(env, session, workload.inputs(1000L + index));
                } catch (OrtException e) {
                    throw new IllegalStateException(e);
                }
            }

            @Override
            public void close() {
            }
        };
    }

    /** {@code <repo>/<model>/<highest numeric version>/model.onnx} from the first repo that has it. */
    Optional<Path> modelFile(String model) {
        for (Path repo : settings.modelRepos) {
            Path dir = repo.resolve(model);
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (Stream<Path> versions = Files.list(dir)) {
                Optional<Path> found = versions
                        .filter(v -> v.getFileName().toString().matches("\\d+"))
                        .filter(v -> Files.isRegularFile(v.resolve("model.onnx")))
                        .max(Comparator.comparingLong(v -> Long.parseLong(v.getFileName().toString())))
                        .map(v -> v.resolve("model.onnx"));
                if (found.isPresent()) {
                    return found;
                }
            } catch (IOException e) {
                // try the next repository
            }
        }
        return Optional.empty();
    }

    /** Reads the summaries of a {@code raw.json} written by {@link Report#writeRaw}; empty if absent. */
    static Map<String, Summary> readSummaries(Path rawJson) {
        Map<String, Summary> out = new LinkedHashMap<>();
        if (rawJson == null || !Files.isRegularFile(rawJson)) {
            return out;
        }
        try {
            JsonNode root = OipJson.MAPPER.readTree(rawJson.toFile());
            for (JsonNode w : root.path("workloads")) {
                Summary s = OipJson.MAPPER.treeToValue(w.path("summary"), Summary.class);
                out.put(s.workload(), s);
            }
        } catch (IOException e) {
            System.err.println("cannot read raw baseline " + rawJson + ": " + e.getMessage());
        }
        return out;
    }
}
