package io.sluice.bench;

import static io.sluice.bench.OverloadReport.check;
import static io.sluice.bench.OverloadReport.info;
import static io.sluice.bench.OverloadReport.rate;

import io.sluice.bench.OpenSchedule.Action;
import io.sluice.bench.OpenSchedule.ActionLog;
import io.sluice.bench.OpenSchedule.Phase;
import io.sluice.bench.OverloadReport.Check;
import io.sluice.bench.ServerMetrics.Scrape;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code redis-outage}: a server that rate limits every caller in one shared bucket in Redis
 * ({@code sluice.rate-limit.store=redis}, rate and burst L, auth off so every caller is the anonymous
 * tenant) while Redis goes away and comes back. The bench starts redis-server itself on
 * {@code --redis-port} (the server must already be configured with it), sends an open loop at 3 L for
 * {@code --redis-warmup} s, lets the bucket refill, then runs the open loop at 3 L for
 * {@code --redis-seconds} (30): Redis up for the first third ({@code before}), stopped for the second
 * ({@code outage}), started again for the last ({@code after}).
 *
 * <p>Targets: in every phase only 200 and rate-limited (429 / RESOURCE_EXHAUSTED) answers, no 5xx,
 * timeouts, io-errors or drops; admitted (OK) rate during the outage <= 2 L. Also checked, so that the
 * run cannot pass without measuring anything: the server did rate limit in every phase, and admitted at least
 * L / 4 during the outage (a limiter failing closed would pass the rest). For information:
 * {@code sluice_rate_limit_fallbacks_total} from {@code /q/metrics} before and after (and per phase,
 * scraped every 0.5 s), the admitted rate before and after, and the retry hints of the 429s.
 */
final class RedisOutage {
    /** The offered rate, in multiples of the limit L. */
    static final double OFFERED_TIMES_LIMIT = 3;
    /** How soon after Redis is back the takes must go to it again. */
    static final double BACK_ON_REDIS_SECONDS = 2;

    private static final double SCRAPE_EVERY_SECONDS = 0.5;

    private RedisOutage() {
    }

    static int run(Settings s) throws Exception {
        if (s.redisPort <= 0) {
            System.err.println("redis-outage needs --redis-port (the port the server's quarkus.redis.hosts names)");
            return 64;
        }
        Workload workload = Workload.parse(s.workload, s);
        Protocol protocol = Protocol.parse(s.protocol);
        double limit = s.redisRate;
        // three times the limit: a limiter that failed open during the outage would admit all of it, over the 2 L bound
        double offered = OFFERED_TIMES_LIMIT * limit;
        double third = s.redisSeconds / 3;
        String title = String.format(Locale.ROOT, "redis outage: %s (%s), %s, rate limit L = %s in Redis on 127.0.0.1:%d,"
                + " open loop at %.0f L, Redis down from %.0f s to %.0f s of %.0f s", workload.key, workload.model,
                protocol.label, rate(limit), s.redisPort, OFFERED_TIMES_LIMIT, third, 2 * third, s.redisSeconds);
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("title", title);
        config.put("workload", workload.key);
        config.put("model", workload.model);
        config.put("protocol", protocol.label);
        config.put("serverOptions", s.serverOptions);
        config.put("rateLimit", limit);
        config.put("offeredRate", offered);
        config.put("seconds", s.redisSeconds);
        config.put("warmupSeconds", s.redisWarmupSeconds);
        config.put("redisPort", s.redisPort);
        config.put("timeoutSeconds", s.timeoutSeconds);
        Map<String, Object> raw = new LinkedHashMap<>();
        List<Check> rows = new ArrayList<>();
        System.out.println(title);

        ServerMetrics metrics = new ServerMetrics(s.port);
        try (RedisProcess redis = new RedisProcess(s.redisPort);
                ServerClients clients = new ServerClients(protocol, workload, s)) {
            try {
                redis.up();
            } catch (RuntimeException e) {
                rows.add(check("redis", "redis-server on 127.0.0.1:" + s.redisPort, "did not start: " + e,
                        "running", false));
                OverloadReport.writeJson(s.out, "redis", config, rows, raw);
                return 1;
            }
            String problem = Probe.first(clients, workload, 20, 250);
            if (problem != null) {
                rows.add(check("redis", "first request", problem, "200 with valid outputs", false));
                OverloadReport.writeJson(s.out, "redis", config, rows, raw);
                return 1;
            }
            OpenSchedule schedule = new OpenSchedule(s.timeoutSeconds, 1.0, s.maxRequests);
            int workers = Overload.workers(s, offered, 0);
            if (s.redisWarmupSeconds > 0) {
                System.out.printf(Locale.ROOT, "warm-up: open loop at %s for %.0f s, Redis up ...%n", rate(offered),
                        s.redisWarmupSeconds);
                Phase warm = schedule.run(clients, workers,
                        List.of(new OpenSchedule.Segment("warmup", offered, s.redisWarmupSeconds)), List.of())
                        .phase("warmup");
                Overload.progress(warm);
                raw.put("warmup", OverloadReport.phaseJson(warm));
            }
            Thread.sleep((long) (1000 * (1 + 0.5))); // the bucket (burst L at L/s) refills in 1 s

            Scrape before = metrics.scrape(ServerMetrics.RATE_LIMIT_FALLBACKS);
            List<Action> actions = new ArrayList<>();
            List<Scrape> scrapes = new ArrayList<>();
            int steps = (int) Math.floor(s.redisSeconds / SCRAPE_EVERY_SECONDS + 1e-9);
            Runnable scrape = () -> {
                try {
                    scrapes.add(metrics.scrape(ServerMetrics.RATE_LIMIT_FALLBACKS));
                } catch (RuntimeException e) {
                    scrapes.add(new Scrape(false, false, 0, e.toString()));
                }
            };
            for (int i = 0; i <= steps; i++) {
                double at = i * SCRAPE_EVERY_SECONDS;
                if (Math.abs(at - third) > 1e-9 && Math.abs(at - 2 * third) > 1e-9) {
                    actions.add(new Action(at, "scrape", scrape));
                }
            }
            actions.add(new Action(third, "scrape", scrape));
            actions.add(new Action(third, "stop redis", redis::down));
            actions.add(new Action(2 * third, "scrape", scrape));
            actions.add(new Action(2 * third, "start redis", redis::up));
            actions.sort(java.util.Comparator.comparingDouble(Action::atSeconds)); // stable: scrape, then stop/start
            System.out.printf(Locale.ROOT, "run: open loop at %s for %.0f s (%d workers), Redis stopped at %.0f s,"
                    + " started at %.0f s ...%n", rate(offered), s.redisSeconds, workers, third, 2 * third);
            OpenSchedule.Result run = schedule.run(clients, workers, List.of(
                    new OpenSchedule.Segment("before", offered, third),
                    new OpenSchedule.Segment("outage", offered, third),
                    new OpenSchedule.Segment("after", offered, third)), actions);
            Scrape after = metrics.scrape(ServerMetrics.RATE_LIMIT_FALLBACKS);

            // fallbacks over time: the scrapes in the order the actions ran
            List<Map<String, Object>> fallbackTimeline = new ArrayList<>();
            double restartedAt = Double.NaN;
            double stoppedAt = Double.NaN;
            Scrape atStop = null;
            Scrape atStart = null;
            int k = 0;
            for (ActionLog a : run.actions()) {
                if (a.name().equals("scrape") && k < scrapes.size()) {
                    Scrape sc = scrapes.get(k++);
                    Map<String, Object> point = new LinkedHashMap<>();
                    point.put("seconds", a.finishedSeconds());
                    point.put("fallbacks", sc.ok() ? sc.value() : null);
                    fallbackTimeline.add(point);
                    if (Math.abs(a.plannedSeconds() - third) < 1e-9 && atStop == null) {
                        atStop = sc;
                    }
                    if (Math.abs(a.plannedSeconds() - 2 * third) < 1e-9 && atStart == null) {
                        atStart = sc;
                    }
                } else if (a.name().equals("stop redis")) {
                    stoppedAt = a.finishedSeconds();
                } else if (a.name().equals("start redis")) {
                    restartedAt = a.finishedSeconds();
                }
            }
            raw.put("actions", run.actions());
            raw.put("fallbacksBefore", before);
            raw.put("fallbacksAfter", after);
            raw.put("fallbackTimeline", fallbackTimeline);

            List<Phase> phases = run.phases();
            for (Phase p : phases) {
                Overload.progress(p);
                raw.put(p.name(), OverloadReport.phaseJson(p));
            }
            for (ActionLog a : run.actions()) {
                if (!a.name().equals("scrape")) {
                    System.out.printf(Locale.ROOT, "  %s at %.2f s (planned %.2f s)%s%n", a.name(), a.finishedSeconds(),
                            a.plannedSeconds(), a.error() == null ? "" : ": " + a.error());
                    if (a.error() != null) {
                        rows.add(check("redis", a.name(), a.error(), "done", false));
                    }
                }
            }

            for (Phase p : phases) {
                long unexpected = p.count(c -> c != Status.OK && !Status.isRateLimited(c));
                long serverErrors = p.count(Status::isServerError);
                rows.add(check("redis " + p.name(), "statuses", OverloadReport.statuses(p.statuses())
                                + (serverErrors > 0 ? " (" + serverErrors + " 5xx)" : ""),
                        protocol == Protocol.GRPC ? "only OK, RESOURCE_EXHAUSTED" : "only 200, 429",
                        unexpected == 0 && p.dropped() == 0 && p.unanswered() == 0));
                String admitted = String.format(Locale.ROOT, "%s (offered %s, L %s)", rate(p.goodput()),
                        rate(p.rate()), rate(limit));
                rows.add(p.name().equals("outage")
                        ? check("redis outage", "admitted rate", admitted, "<= " + rate(2 * limit) + " (2 L)",
                                p.goodput() <= 2 * limit)
                        : info("redis " + p.name(), "admitted rate", admitted));
                if (p.name().equals("outage")) {
                    // and not failing closed: the fallback's fair share is L / replicas, L with one replica; a
                    // quarter of L allows for a replica count that still holds a server stopped seconds ago
                    rows.add(check("redis outage", "not failing closed", rate(p.goodput()),
                            ">= " + rate(limit / 4) + " (L / 4)", p.goodput() >= limit / 4));
                }
            }
            String limited = phases.stream().map(p -> String.valueOf(p.count(Status::isRateLimited)))
                    .reduce((a, b) -> a + " / " + b).orElse("");
            boolean limitedEverywhere = phases.stream().allMatch(p -> p.count(Status::isRateLimited) > 0);
            rows.add(check("redis", "rate limited (before / outage / after)", limited,
                    "> 0 in every phase (else nothing was limited)", limitedEverywhere));
            long sent = phases.stream().mapToLong(Phase::sent).sum();
            long answered = phases.stream().mapToLong(Phase::answered).sum();
            long dropped = phases.stream().mapToLong(Phase::dropped).sum();
            long planned = phases.stream().mapToLong(Phase::planned).sum();
            rows.add(check("redis", "every request answered", String.format(Locale.ROOT,
                    "sent %d, answered %d; offered %d, dropped %d, unanswered %d", sent, answered, planned, dropped,
                    sent - answered), "sent == answered, 0 dropped", sent == answered && dropped == 0));
            rows.add(info("redis", ServerMetrics.RATE_LIMIT_FALLBACKS, fallbacks(before, atStop, atStart, after,
                    fallbackTimeline, stoppedAt, restartedAt)));
            // the buckets really were in Redis: no fallback while it ran, fallbacks while it was down, none again
            // soon after it came back (a server that never used Redis passes every other check here)
            boolean scraped = before.ok() && after.ok() && atStop != null && atStart != null && atStop.ok() && atStart.ok();
            rows.add(check("redis before", "fallbacks", scraped ? String.valueOf((long) (atStop.value() - before.value()))
                    : "not scraped", "0 (takes went to Redis)", scraped && atStop.value() == before.value()));
            rows.add(check("redis outage", "fallbacks", scraped ? String.valueOf((long) (atStart.value() - atStop.value()))
                    : "not scraped", "> 0 (the local fallback took over)", scraped && atStart.value() > atStop.value()));
            double lastRise = lastRise(before, fallbackTimeline);
            double backAfter = Double.isNaN(lastRise) || Double.isNaN(restartedAt) || lastRise <= restartedAt ? 0
                    : lastRise - restartedAt;
            rows.add(check("redis after", "back on Redis after", String.format(Locale.ROOT, "%.1f s (last fallback seen)",
                    backAfter), "<= " + BACK_ON_REDIS_SECONDS + " s", scraped && backAfter <= BACK_ON_REDIS_SECONDS));
            long rateLimited = phases.stream().mapToLong(p -> p.count(Status::isRateLimited)).sum();
            long hinted = phases.stream().mapToLong(p -> p.hinted(Status::isRateLimited)).sum();
            if (rateLimited > 0) {
                rows.add(check("redis", "rate limited with a retry hint", hinted + " of " + rateLimited
                        + " (" + Overload.hintName(protocol) + ")", "all", hinted == rateLimited));
            }
            if (!run.note().isEmpty()) {
                rows.add(info("redis", "note", run.note()));
            }
        }
        OverloadReport.writeJson(s.out, "redis", config, rows, raw);
        System.out.println();
        System.out.print(OverloadReport.table(rows));
        return OverloadReport.failures(rows) == 0 ? 0 : 1;
    }

    /**
     * "0 before, 212 after (per phase 0 / 207 / 5); last rise 1.0 s after Redis restarted": the counter
     * before and after the run, its rise in each phase (from the scrapes at the stop and the restart), and
     * when it last rose relative to the restart (to the 0.5 s of the scrapes).
     */
    /** When the fallback counter last rose, in seconds into the run; NaN if it never did. */
    private static double lastRise(Scrape before, List<Map<String, Object>> timeline) {
        double lastRise = Double.NaN;
        Double previous = before.ok() ? before.value() : null;
        for (Map<String, Object> point : timeline) {
            Object v = point.get("fallbacks");
            if (v == null) {
                continue;
            }
            double value = (Double) v;
            if (previous != null && value > previous) {
                lastRise = (Double) point.get("seconds");
            }
            previous = value;
        }
        return lastRise;
    }

    private static String fallbacks(Scrape before, Scrape atStop, Scrape atStart, Scrape after,
            List<Map<String, Object>> timeline, double stoppedAt, double restartedAt) {
        StringBuilder out = new StringBuilder(before.label() + " before the run, " + after.label() + " after");
        if (before.ok() && after.ok() && atStop != null && atStart != null && atStop.ok() && atStart.ok()) {
            out.append(String.format(Locale.ROOT, " (per phase %d / %d / %d)", (long) (atStop.value() - before.value()),
                    (long) (atStart.value() - atStop.value()), (long) (after.value() - atStart.value())));
        }
        double lastRise = lastRise(before, timeline);
        if (!Double.isNaN(lastRise) && !Double.isNaN(restartedAt)) {
            out.append(lastRise > restartedAt
                    ? String.format(Locale.ROOT, "; last rise seen %.1f s after Redis restarted", lastRise - restartedAt)
                    : "; none after Redis restarted");
        }
        if (Double.isNaN(lastRise) && !Double.isNaN(stoppedAt)) {
            out.append("; never rose during the run");
        }
        return out.toString();
    }
}
