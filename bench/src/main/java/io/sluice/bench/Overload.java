package io.sluice.bench;

import static io.sluice.bench.OverloadReport.check;
import static io.sluice.bench.OverloadReport.info;
import static io.sluice.bench.OverloadReport.ms;
import static io.sluice.bench.OverloadReport.rate;

import io.sluice.bench.OpenSchedule.Bucket;
import io.sluice.bench.OpenSchedule.Phase;
import io.sluice.bench.OverloadReport.Check;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code overload}: how a running server behaves past its capacity, in four phases on one workload and
 * protocol.
 *
 * <ol>
 *   <li>saturation: closed loop, {@code --concurrency} workers (16), warm-up then {@code --duration} s:
 *       the saturated goodput X (OK/s);
 *   <li>overload warm-up (not judged): open loop at the overload rate for {@code --overload-warmup} s (30),
 *       then as long at the moderate load. The closed-loop warm-up never turns a request away, so without
 *       this the measured overload began with the rejection path cold: on 11-30 the server's C2 compiler
 *       took 15 % of a core 13–28 s into a first overload, against 0–1.5 % in the next two on the same
 *       server, whose rejection p99 was 8.2 / 8.5 ms against 20.3 ms. Its goodput and rejection p99 are
 *       reported beside the judged phases, as what a JVM's first overload looks like;
 *   <li>moderate load: open loop at {@code --load-fraction} (0.8) x X for {@code --duration} s: p99 of OK
 *       latencies, p99_80;
 *   <li>overload: open loop at {@code --overload-factor} (5) x X for {@code --overload-seconds} (60):
 *       goodput (target >= 0.9 X), p99 of OK (target <= 2 p99_80), p99 of rejections (target <= 5 ms),
 *       statuses (target: only 200/429/503 or RESOURCE_EXHAUSTED/UNAVAILABLE), every request answered;
 *   <li>recovery: straight after, on the same clock and workers, open loop at 0.8 X for
 *       {@code --recovery-seconds} (10): from which time after the overload every 250 ms bucket has
 *       goodput >= 90% of what was offered in it (target <= 2 s: the "throughput is back to
 *       normal"); reported beside it, from which time every bucket also has p99 <= 2 p99_80.
 * </ol>
 */
final class Overload {
    static final double REJECTION_P99_TARGET_MS = 5;
    static final double GOODPUT_TARGET = 0.9;
    static final double LATENCY_TARGET = 2;
    static final double RECOVERY_TARGET_S = 2;
    static final double BUCKET_GOODPUT_TARGET = 0.9;

    private Overload() {
    }

    static int run(Settings s) throws Exception {
        Workload workload = Workload.parse(s.workload, s);
        Protocol protocol = Protocol.parse(s.protocol);
        Map<String, Object> config = new LinkedHashMap<>();
        String title = String.format(Locale.ROOT, "overload: %s (%s), %s, server %s", workload.key, workload.model,
                protocol.label, s.serverOptions.isBlank() ? "default configuration" : "with " + s.serverOptions);
        config.put("title", title);
        config.put("workload", workload.key);
        config.put("model", workload.model);
        config.put("protocol", protocol.label);
        config.put("serverOptions", s.serverOptions);
        config.put("concurrency", s.concurrency);
        config.put("warmupSeconds", s.warmupSeconds);
        config.put("durationSeconds", s.durationSeconds);
        config.put("loadFraction", s.loadFraction);
        config.put("overloadFactor", s.overloadFactor);
        config.put("overloadSeconds", s.overloadSeconds);
        config.put("overloadWarmupSeconds", s.overloadWarmupSeconds);
        config.put("recoverySeconds", s.recoverySeconds);
        config.put("bucketSeconds", s.bucketSeconds);
        config.put("timeoutSeconds", s.timeoutSeconds);
        config.put("grpcChannels", s.grpcChannels);
        config.put("cores", Runtime.getRuntime().availableProcessors());
        Map<String, Object> raw = new LinkedHashMap<>();
        List<Check> rows = new ArrayList<>();
        System.out.println(title);

        try (ServerClients clients = new ServerClients(protocol, workload, s)) {
            String problem = Probe.first(clients, workload, 1, 0);
            if (problem != null) {
                rows.add(check("setup", "first request", problem, "200 with valid outputs", false));
                OverloadReport.writeJson(s.out, "overload", config, rows, raw);
                return 1;
            }

            // 1. saturation --------------------------------------------------------------------
            System.out.printf(Locale.ROOT, "saturation: closed loop c=%d, %.0f s warm-up + %.0f s ...%n",
                    s.concurrency, s.warmupSeconds, s.durationSeconds);
            LoadResult saturation = new LoadGenerator(s.warmupSeconds, s.durationSeconds, s.timeoutSeconds,
                    s.maxRequests).closed(clients, s.concurrency);
            double x = saturation.throughput();
            raw.put("saturation", OverloadReport.closedJson(saturation, s.concurrency, s.warmupSeconds));
            System.out.printf(Locale.ROOT, "  X = %s, p50 %s, p99 %s, errors %s%n", rate(x),
                    ms(saturation.percentileMs(50)), ms(saturation.percentileMs(99)),
                    Report.failures(saturation.failures()));
            rows.add(info("saturation", "goodput X", String.format(Locale.ROOT,
                    "%s (closed c=%d, %.0f s; p50 %s, p99 %s; errors %s)", rate(x), s.concurrency, s.durationSeconds,
                    ms(saturation.percentileMs(50)), ms(saturation.percentileMs(99)),
                    Report.failures(saturation.failures()))));
            config.put("saturatedGoodput", x);
            if (x <= 0) {
                rows.add(check("saturation", "goodput X", "no successful request", "> 0", false));
                OverloadReport.writeJson(s.out, "overload", config, rows, raw);
                return 1;
            }
            Thread.sleep(1000);

            OpenSchedule schedule = new OpenSchedule(s.timeoutSeconds, s.bucketSeconds, s.maxRequests);
            double moderate = s.loadFraction * x;
            int moderateWorkers = workers(s, moderate, 0);
            String pct = Report.num(s.loadFraction * 100).replace(".0", "") + "%";
            String factor = Report.num(s.overloadFactor).replace(".0", "") + "x";
            double over = s.overloadFactor * x;
            int overWorkers = workers(s, over, s.overloadWorkers);

            // overload warm-up, not judged -----------------------------------------------------
            if (s.overloadWarmupSeconds > 0) {
                System.out.printf(Locale.ROOT, "overload warm-up: open loop at %s for %.0f s, then %s for %.0f s"
                        + " (not judged) ...%n", rate(over), s.overloadWarmupSeconds, rate(moderate),
                        s.overloadWarmupSeconds);
                OpenSchedule.Result warmRun = schedule.run(clients, overWorkers, List.of(
                        new OpenSchedule.Segment("overload-warmup", over, s.overloadWarmupSeconds),
                        new OpenSchedule.Segment("overload-warmup-after", moderate, s.overloadWarmupSeconds)),
                        List.of());
                Phase warm = warmRun.phase("overload-warmup");
                progress(warm);
                raw.put("overloadWarmup", phase(warm, warmRun));
                rows.add(info(factor + " warm-up", "first overload (JIT cold)", String.format(Locale.ROOT,
                        "goodput %s = %.2f X, p99 of admitted %s, p99 of rejections %s (%s, %.0f s; not judged)",
                        rate(warm.goodput()), warm.goodput() / x, ms(warm.okPercentileMs(99)),
                        warm.rejectedCount() == 0 ? "-" : ms(warm.rejectedPercentileMs(99)),
                        OverloadReport.statuses(warm.statuses()), s.overloadWarmupSeconds)));
                Thread.sleep(1000);
            }

            // 2. moderate load ---------------------------------------------------------------
            System.out.printf(Locale.ROOT, "%s load: open loop at %s for %.0f s (%s) ...%n", pct,
                    rate(moderate), s.durationSeconds, senders(protocol, moderateWorkers));
            OpenSchedule.Result loadRun = schedule.run(clients, moderateWorkers,
                    List.of(new OpenSchedule.Segment("load", moderate, s.durationSeconds)), List.of());
            Phase load = loadRun.phase("load");
            double p99Load = load.okPercentileMs(99);
            progress(load);
            raw.put("load", phase(load, loadRun));
            OverloadReport.writePhaseFiles(s.out, load);
            rows.add(info(pct + " load", "p99 of OK (p99_80)", String.format(Locale.ROOT,
                    "%s (open %s, %.0f s; goodput %s; %s)", ms(p99Load), rate(moderate), s.durationSeconds,
                    rate(load.goodput()), OverloadReport.statuses(load.statuses()))));
            config.put("p99LoadMs", p99Load);
            Thread.sleep(1000);

            // 3. overload, 4. recovery ----------------------------------------------------------
            System.out.printf(Locale.ROOT, "overload: open loop at %s for %.0f s, then %s for %.0f s (%s) ...%n",
                    rate(over), s.overloadSeconds, rate(moderate), s.recoverySeconds, senders(protocol, overWorkers));
            OpenSchedule.Result overRun = schedule.run(clients, overWorkers, List.of(
                    new OpenSchedule.Segment("overload", over, s.overloadSeconds),
                    new OpenSchedule.Segment("recovery", moderate, s.recoverySeconds)), List.of());
            Phase overload = overRun.phase("overload");
            Phase recovery = overRun.phase("recovery");
            progress(overload);
            progress(recovery);
            raw.put("overload", phase(overload, overRun));
            raw.put("recovery", phase(recovery, overRun));
            OverloadReport.writePhaseFiles(s.out, overload);
            OverloadReport.writePhaseFiles(s.out, recovery);

            String phase = factor + " overload";
            rows.add(check(phase, "goodput", String.format(Locale.ROOT, "%s (offered %s, %.0f s, %s)",
                    rate(overload.goodput()), rate(over), s.overloadSeconds, senders(protocol, overWorkers)),
                    ">= " + rate(GOODPUT_TARGET * x) + " (0.9 X)", overload.goodput() >= GOODPUT_TARGET * x));
            double p99Over = overload.okPercentileMs(99);
            rows.add(check(phase, "p99 of admitted (OK)", ms(p99Over),
                    "<= " + ms(LATENCY_TARGET * p99Load) + " (2 p99_80)",
                    !Double.isNaN(p99Over) && !Double.isNaN(p99Load) && p99Over <= LATENCY_TARGET * p99Load));
            double p99Rejected = overload.rejectedPercentileMs(99);
            rows.add(overload.rejectedCount() == 0
                    ? info(phase, "p99 of rejections", "no rejections")
                    : check(phase, "p99 of rejections", String.format(Locale.ROOT, "%s (%d; from send %s; max send lag %s)",
                            ms(p99Rejected), overload.rejectedCount(), ms(overload.rejectedFromSendPercentileMs(99)),
                            ms(overload.maxLagMs())),
                            "<= " + ms(REJECTION_P99_TARGET_MS), p99Rejected <= REJECTION_P99_TARGET_MS));
            long unexpected = overload.count(c -> c != Status.OK && !Status.isRejection(c));
            rows.add(check(phase, "statuses", OverloadReport.statuses(overload.statuses()),
                    allowedStatuses(protocol), unexpected == 0 && overload.unanswered() == 0 && overload.dropped() == 0));
            rows.add(check(phase, "every request answered", answered(overload),
                    "sent == answered, 0 dropped", overload.sent() == overload.answered() && overload.dropped() == 0));
            if (overload.rejectedCount() > 0) {
                // judged: a rejection is the server turning a request away with when to come back; an UNAVAILABLE
                // or 503 without one is some other failure passing for a rejection
                long hinted = overload.hinted(Status::isRejection);
                rows.add(check(phase, "rejections with a retry hint", hinted + " of " + overload.rejectedCount()
                        + " (" + hintName(protocol) + ")", "all", hinted == overload.rejectedCount()));
            }

            // judged: goodput back, counting only the answers that came in normal time (within 2 p99_80 of their
            // due time): a server answering every request seconds late has not recovered
            Recovery r = recovery(recovery, Double.NaN, Double.isNaN(p99Load) ? Double.NaN : LATENCY_TARGET * p99Load);
            raw.put("recoveredAfterSeconds", Double.isNaN(r.seconds()) ? null : r.seconds());
            rows.add(check("recovery", "throughput back after", r.label(), "<= " + OverloadReport.seconds(RECOVERY_TARGET_S),
                    !Double.isNaN(r.seconds()) && r.seconds() <= RECOVERY_TARGET_S));
            Recovery latency = Double.isNaN(p99Load) ? new Recovery(Double.NaN, "no p99_80 to compare with")
                    : recovery(recovery, LATENCY_TARGET * p99Load, Double.NaN);
            raw.put("latencyBackAfterSeconds", Double.isNaN(latency.seconds()) ? null : latency.seconds());
            rows.add(info("recovery", "and latency back after", latency.label()));
            rows.add(info("recovery", "statuses", String.format(Locale.ROOT, "%s (offered %s, %.0f s; goodput %s, p99 %s)",
                    OverloadReport.statuses(recovery.statuses()), rate(moderate), s.recoverySeconds,
                    rate(recovery.goodput()), ms(recovery.okPercentileMs(99)))));
            if (!overRun.note().isEmpty()) {
                rows.add(info("recovery", "note", overRun.note()));
            }
            System.out.println("  recovery: " + r.label());
        }
        OverloadReport.writeJson(s.out, "overload", config, rows, raw);
        System.out.println();
        System.out.print(OverloadReport.table(rows));
        return OverloadReport.failures(rows) == 0 ? 0 : 1;
    }

    /** Open-loop workers for {@code rate}: the given count, else max(64, rate x --worker-seconds). */
    static int workers(Settings s, double rate, int given) {
        if (given > 0) {
            return given;
        }
        return (int) Math.min(4096, Math.max(64, Math.ceil(rate * s.workerSeconds)));
    }

    /** Who sends the open loop: gRPC calls go out asynchronously from one thread, REST needs a worker each. */
    static String senders(Protocol protocol, int workers) {
        return protocol == Protocol.GRPC ? "one asynchronous sender" : workers + " workers";
    }

    static String allowedStatuses(Protocol protocol) {
        return protocol == Protocol.GRPC ? "only OK, RESOURCE_EXHAUSTED, UNAVAILABLE" : "only 200, 429, 503";
    }

    static String hintName(Protocol protocol) {
        return protocol == Protocol.GRPC ? "google.rpc.RetryInfo"
                : "Retry-After; on 429 also RateLimit, RateLimit-Policy";
    }

    static String answered(Phase p) {
        return String.format(Locale.ROOT, "sent %d, answered %d; offered %d, dropped %d, unanswered %d",
                p.sent(), p.answered(), p.planned(), p.dropped(), p.unanswered());
    }

    /** When the recovery phase was back to normal, and why not if it never was. */
    record Recovery(double seconds, String label) {
    }

    /** {@link #recovery(Phase, double, double)} counting every OK answer however late. */
    static Recovery recovery(Phase recovery, double p99LimitMs) {
        return recovery(recovery, p99LimitMs, Double.NaN);
    }

    /**
     * The start of the first timeline bucket from which on every bucket had goodput >= 90% of what was
     * offered in it (counting, unless {@code inTimeMs} is NaN, only OK answers within {@code inTimeMs} of their
     * due time) and, unless {@code p99LimitMs} is NaN, an OK p99 <= {@code p99LimitMs}; NaN if the last bucket
     * did not.
     */
    static Recovery recovery(Phase recovery, double p99LimitMs, double inTimeMs) {
        List<Bucket> timeline = recovery.timeline();
        int first = timeline.size();
        for (int i = timeline.size() - 1; i >= 0; i--) {
            if (!good(timeline.get(i), p99LimitMs, inTimeMs)) {
                break;
            }
            first = i;
        }
        int bad = 0;
        for (Bucket b : timeline) {
            if (!good(b, p99LimitMs, inTimeMs)) {
                bad++;
            }
        }
        String detail = String.format(Locale.ROOT, "%d of %d %s-ms buckets below 90%% goodput%s%s",
                bad, timeline.size(), Report.num(recovery.bucketSeconds() * 1000).replace(".0", ""),
                Double.isNaN(inTimeMs) ? "" : " answered within " + ms(inTimeMs),
                Double.isNaN(p99LimitMs) ? "" : " or above " + ms(p99LimitMs) + " p99");
        if (first == timeline.size()) {
            return new Recovery(Double.NaN, String.format(Locale.ROOT, "not within %.0f s (%s)",
                    recovery.seconds(), detail));
        }
        double at = timeline.get(first).startSeconds();
        return new Recovery(at, OverloadReport.seconds(at) + " (" + detail + ")");
    }

    private static boolean good(Bucket b, double p99LimitMs, double inTimeMs) {
        long ok = Double.isNaN(inTimeMs) ? b.ok() : b.okWithin(inTimeMs);
        return b.offered() > 0 && ok >= BUCKET_GOODPUT_TARGET * b.offered()
                && (Double.isNaN(p99LimitMs) || !Double.isNaN(b.p99Ms()) && b.p99Ms() <= p99LimitMs);
    }

    private static Map<String, Object> phase(Phase p, OpenSchedule.Result run) {
        Map<String, Object> m = OverloadReport.phaseJson(p);
        m.put("workers", run.workers());
        m.put("note", run.note());
        return m;
    }

    static void progress(Phase p) {
        System.out.printf(Locale.ROOT, "  %-9s offered %s: goodput %s, OK p50 %s p99 %s, rejections p99 %s; %s%n",
                p.name(), rate(p.rate()), rate(p.goodput()), ms(p.okPercentileMs(50)), ms(p.okPercentileMs(99)),
                ms(p.rejectedPercentileMs(99)), OverloadReport.statuses(p.statuses()));
    }
}
