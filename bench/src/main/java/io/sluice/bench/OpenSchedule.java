package io.sluice.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;

/**
 * An open loop whose rate changes in steps: segments ({@code name, rate, seconds}) one after the other on
 * one clock, served by one pool of workers, so that a segment starts the instant the previous one ends
 * (the recovery after an overload starts with the overload's queue still in the server).
 *
 * <p>Request k of a segment is due at the segment's start + k/rate, whatever happened to earlier ones.
 * Latency runs from the due time (no coordinated omission). Each request belongs to the segment, and to
 * the timeline bucket of that segment, its due time falls in. Over gRPC one thread waits for each due
 * time and sends without waiting for the answer (a callback records it); otherwise a worker takes the next request, waits for
 * its due time, sends it and waits for the answer; a request that could not be sent within the timeout
 * of its due time is not sent ({@code dropped}). Every run is bounded: by its planned requests (capped by
 * {@code maxRequests}) and by time (the schedule, then at most one timeout and 10 s to drain; workers
 * still busy then are abandoned and their requests counted as unanswered).
 *
 * <p>While the workers run, the calling thread performs the {@link Action}s at their times (stop or start
 * Redis, scrape the server's metrics) and records when each actually happened.
 */
final class OpenSchedule {

    /** One step of the schedule. */
    record Segment(String name, double rate, double seconds) {
        long planned() {
            return (long) Math.ceil(rate * seconds - 1e-9);
        }
    }

    /** Something the calling thread does {@code atSeconds} into the run. */
    record Action(double atSeconds, String name, Runnable task) {
    }

    /** When an action was planned and when it ran (seconds into the run), and its failure if any. */
    record ActionLog(String name, double plannedSeconds, double startedSeconds, double finishedSeconds,
            String error) {
    }

    /** What one run measured: one {@link Phase} per segment, the actions' log and a note. */
    record Result(List<Phase> phases, List<ActionLog> actions, int workers, String note) {
        Phase phase(String name) {
            return phases.stream().filter(p -> p.name().equals(name)).findFirst().orElseThrow();
        }
    }

    /**
     * One segment's numbers. {@code planned} = {@code sent} + {@code dropped}; {@code sent} =
     * {@code answered} + {@code unanswered} (timeouts, io-errors, and requests still out when the run was
     * abandoned). {@code statuses} counts every outcome by {@link Status#name}, {@code ok} included.
     * {@code rejected}: latency (from due time) of 429/503, RESOURCE_EXHAUSTED/UNAVAILABLE;
     * {@code rejectedFromSend}: the same from the actual send (the server's part, without client lag);
     * {@code hints}: rejections that said when to retry, by code ({@link InferClient#retryHint()});
     * {@code okInWindow}: OK answers that came before the segment's end (due in it, answered in it).
     */
    record Phase(String name, double rate, double seconds, long planned, long sent, long answered,
            long dropped, long unanswered, Map<String, Long> statuses, Map<Integer, Long> codes,
            Histogram ok, Histogram rejected,
            Histogram rejectedFromSend, Map<Integer, Long> hints, double maxLagMs, double bucketSeconds,
            List<Bucket> timeline, long okInWindow) {

        long okCount() {
            return ok.getTotalCount();
        }

        long rejectedCount() {
            return rejected.getTotalCount();
        }

        /**
         * OK answers per second of the segment, counting those that came before the segment ended: an answer
         * to a request due in the segment that comes after it (a queue draining into the next segment) is
         * that segment's throughput, not this one's.
         */
        double goodput() {
            return okInWindow / seconds;
        }

        double okPercentileMs(double p) {
            return okCount() == 0 ? Double.NaN : ok.getValueAtPercentile(p) / 1e6;
        }

        double rejectedPercentileMs(double p) {
            return rejectedCount() == 0 ? Double.NaN : rejected.getValueAtPercentile(p) / 1e6;
        }

        double rejectedFromSendPercentileMs(double p) {
            return rejectedFromSend.getTotalCount() == 0 ? Double.NaN
                    : rejectedFromSend.getValueAtPercentile(p) / 1e6;
        }

        /** How many rejections whose {@link Status} code matches {@code test} carried a retry hint. */
        long hinted(java.util.function.IntPredicate test) {
            return hints.entrySet().stream().filter(e -> test.test(e.getKey())).mapToLong(Map.Entry::getValue).sum();
        }

        /** How many outcomes (sent requests, by {@link Status} code) match {@code test}. */
        long count(java.util.function.IntPredicate test) {
            return codes.entrySet().stream().filter(e -> test.test(e.getKey())).mapToLong(Map.Entry::getValue).sum();
        }
    }

    /**
     * One timeline bucket of a segment, by due time: {@code startSeconds} from the segment's start,
     * requests offered (planned to be due in it), answered OK, rejected (429/503, RESOURCE_EXHAUSTED/
     * UNAVAILABLE), anything else recorded (errors, timeouts, drops), the p99 of the OK latencies
     * (NaN if none), and those latencies (from due time; null when not kept). Offered requests not recorded at
     * all were still out when the run was abandoned.
     */
    record Bucket(double startSeconds, long offered, long ok, long rejected, long other, double p99Ms,
            Histogram okLatency) {

        Bucket(double startSeconds, long offered, long ok, long rejected, long other, double p99Ms) {
            this(startSeconds, offered, ok, rejected, other, p99Ms, null);
        }

        /** OK answers that came within {@code limitMs} of their due time; every OK when the latencies were not kept. */
        long okWithin(double limitMs) {
            return okLatency == null ? ok : okLatency.getCountBetweenValues(0, (long) (limitMs * 1e6));
        }
    }

    /** Clients (distinct inputs) an asynchronous open loop rotates over. */
    static final int ASYNC_CLIENTS = 16;

    private final double timeoutSeconds;
    private final double bucketSeconds;
    private final long maxRequests;

    OpenSchedule(double timeoutSeconds, double bucketSeconds, long maxRequests) {
        this.timeoutSeconds = timeoutSeconds;
        this.bucketSeconds = bucketSeconds;
        this.maxRequests = maxRequests;
    }

    /** Live numbers of one segment, shared by the workers (guarded by {@code this}). */
    static final class Live {
        final Segment segment;
        final long firstTicket;
        final long planned;
        final long startOffsetNanos;
        final double intervalNanos;
        final Recorder recorder = new Recorder();
        final Histogram rejectedFromSend = new Histogram(Recorder.HIGHEST_NANOS, 3);
        final Map<Integer, Long> byCode = new LinkedHashMap<>();
        long sent;
        long answered;
        long okInWindow;
        final Map<Integer, Long> hints = new LinkedHashMap<>();
        final long bucketNanos;
        final long[] ok;
        final long[] rejected;
        final long[] other;
        final Histogram[] okLatency;

        Live(Segment segment, long firstTicket, long planned, long startOffsetNanos, double bucketSeconds) {
            this.segment = segment;
            this.firstTicket = firstTicket;
            this.planned = planned;
            this.startOffsetNanos = startOffsetNanos;
            this.intervalNanos = 1e9 / segment.rate();
            this.bucketNanos = Settings.nanos(bucketSeconds);
            int buckets = Math.max(1, (int) Math.ceil(segment.seconds() / bucketSeconds - 1e-9));
            ok = new long[buckets];
            rejected = new long[buckets];
            other = new long[buckets];
            okLatency = new Histogram[buckets];
            for (int i = 0; i < buckets; i++) {
                okLatency[i] = new Histogram(Recorder.HIGHEST_NANOS, 2);
            }
        }

        synchronized void sending() {
            sent++;
        }

        /** {@code dueOffset}: when the request was due, in nanoseconds from the segment's start ({@link #dueOffset}). */
        synchronized void record(int bucket, long dueOffset, int status, long fromDue, long fromSend, boolean hint,
                long lag) {
            recorder.maxLagNanos = Math.max(recorder.maxLagNanos, lag);
            recorder.record(status, fromDue);
            byCode.merge(status, 1L, Long::sum);
            if (Status.isAnswer(status)) {
                answered++;
            }
            if (Status.isRejection(status)) {
                rejectedFromSend.recordValue(Math.min(Math.max(fromSend, 1), Recorder.HIGHEST_NANOS));
                if (hint) {
                    hints.merge(status, 1L, Long::sum);
                }
            }
            int b = bucket;
            if (status == Status.OK) {
                ok[b]++;
                if (dueOffset + fromDue < Settings.nanos(segment.seconds())) {
                    okInWindow++;
                }
                okLatency[b].recordValue(Math.min(Math.max(fromDue, 1), Recorder.HIGHEST_NANOS));
            } else if (Status.isRejection(status)) {
                rejected[b]++;
            } else {
                other[b]++;
            }
        }

        synchronized Phase snapshot(double bucketSeconds) {
            Map<Integer, Long> codes = new java.util.TreeMap<>((a, b) -> Integer.compare(order(a), order(b)));
            codes.putAll(byCode);
            Map<String, Long> statuses = new LinkedHashMap<>();
            codes.forEach((code, n) -> statuses.merge(Status.name(code), n, Long::sum));
            long dropped = planned - sent;
            if (dropped > 0) {
                statuses.put("dropped", dropped);
            }
            long unanswered = sent - answered;
            long lost = unanswered - statuses.getOrDefault("timeout", 0L) - statuses.getOrDefault("io-error", 0L);
            if (lost > 0) {
                statuses.put("lost", lost);
            }
            long[] offered = new long[ok.length];
            for (long k = 0; k < planned; k++) {
                offered[bucketOf(k)]++;
            }
            List<Bucket> timeline = new ArrayList<>();
            for (int i = 0; i < ok.length; i++) {
                timeline.add(new Bucket(i * bucketSeconds, offered[i], ok[i], rejected[i], other[i],
                        ok[i] == 0 ? Double.NaN : okLatency[i].getValueAtPercentile(99) / 1e6, okLatency[i].copy()));
            }
            return new Phase(segment.name(), segment.rate(), segment.seconds(), planned, sent, answered, dropped,
                    unanswered, statuses, codes, recorder.histogram.copy(), recorder.rejected.copy(),
                    rejectedFromSend.copy(), new LinkedHashMap<>(hints), recorder.maxLagNanos / 1e6, bucketSeconds, timeline,
                    okInWindow);
        }

        /** Nanoseconds from the segment's start at which request {@code k} of the segment is due. */
        long dueOffset(long k) {
            return (long) (k * intervalNanos);
        }

        /** The timeline bucket of request {@code k} of the segment. */
        int bucketOf(long k) {
            return (int) Math.min(ok.length - 1, dueOffset(k) / bucketNanos);
        }

        /** ok first, then what the server said by code, then client-side outcomes. */
        private static int order(int code) {
            return code == Status.OK ? Integer.MIN_VALUE : code < 0 ? 1_000_000 - code : code;
        }
    }

    /**
     * Runs {@code segments} with {@code workers} workers, or, when the clients can send asynchronously
     * (gRPC), from one sending thread that rotates over {@code min(workers, 16)} clients; performs
     * {@code actions} meanwhile. {@link Result#workers()} is 1 for the asynchronous loop.
     */
    Result run(ClientFactory factory, int workers, List<Segment> segments, List<Action> actions) {
        List<Live> lives = new ArrayList<>();
        long ticket = 0;
        double offset = 0;
        for (Segment s : segments) {
            long planned = Math.min(s.planned(), Math.max(0, maxRequests - ticket));
            lives.add(new Live(s, ticket, planned, Settings.nanos(offset), bucketSeconds));
            ticket += planned;
            offset += s.seconds();
        }
        long total = ticket;
        long timeoutNanos = Settings.nanos(timeoutSeconds);
        AtomicLong counter = new AtomicLong();
        long[] start = new long[1];
        CountDownLatch go = new CountDownLatch(1);
        List<InferClient> clients = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        List<ActionLog> log = new ArrayList<>();
        AtomicLong outstanding = new AtomicLong();
        boolean async;
        try {
            InferClient first = factory.create(0);
            clients.add(first);
            async = first.canSendAsync();
            if (async) {
                for (int i = 1; i < Math.min(workers, ASYNC_CLIENTS); i++) {
                    clients.add(factory.create(i));
                }
                Thread t = new Thread(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    dispatch(clients, lives, total, start[0], timeoutNanos, outstanding);
                }, "open-dispatch");
                t.setDaemon(true);
                threads.add(t);
                t.start();
            }
            for (int i = 0; !async && i < workers; i++) {
                InferClient client = i == 0 ? first : factory.create(i);
                if (i > 0) {
                    clients.add(client);
                }
                Thread t = new Thread(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    work(client, lives, counter, total, start[0], timeoutNanos);
                }, "open-" + i);
                t.setDaemon(true);
                threads.add(t);
                t.start();
            }
            start[0] = System.nanoTime() + 50_000_000;
            go.countDown();
            for (Action a : actions) {
                sleepUntil(start[0] + Settings.nanos(a.atSeconds()));
                long began = System.nanoTime();
                String error = null;
                try {
                    a.task().run();
                } catch (RuntimeException e) {
                    error = e.toString();
                }
                log.add(new ActionLog(a.name(), a.atSeconds(), (began - start[0]) / 1e9,
                        (System.nanoTime() - start[0]) / 1e9, error));
            }
            long end = start[0] + Settings.nanos(offset);
            long abandonAt = end + timeoutNanos + 10_000_000_000L;
            int stuck = LoadGenerator.joinAll(threads, abandonAt);
            if (async) {
                while (outstanding.get() > 0 && System.nanoTime() < abandonAt) {
                    LockSupport.parkNanos(1_000_000);
                }
            }
            List<Phase> phases = new ArrayList<>();
            lives.forEach(l -> phases.add(l.snapshot(bucketSeconds)));
            String note = async
                    ? (outstanding.get() == 0 ? "" : outstanding.get() + " requests still out when the run was abandoned")
                    : stuck == 0 ? "" : stuck + " workers still waiting for an answer when the run was abandoned";
            return new Result(phases, log, async ? 1 : workers, note);
        } finally {
            threads.forEach(Thread::interrupt);
            clients.forEach(InferClient::close);
        }
    }

    /**
     * The asynchronous loop: one thread waits for each request's due time and sends it without waiting for
     * the answer, round robin over {@code clients} (their inputs differ); answers are recorded by the
     * transport's callback. No thread per outstanding request, so the load generator's own CPU and
     * scheduling stay small next to the server's on a shared machine.
     */
    private static void dispatch(List<InferClient> clients, List<Live> lives, long total, long start,
            long timeoutNanos, AtomicLong outstanding) {
        int[] segment = {0};
        for (long ticket = 0; ticket < total; ticket++) {
            Due d = waitFor(ticket, lives, segment, start, timeoutNanos);
            if (d == null) {
                return;
            }
            if (d.dropped()) {
                continue;
            }
            outstanding.incrementAndGet();
            long sent = System.nanoTime();
            try {
                clients.get((int) (ticket % clients.size())).inferAsync((status, retryAfter) -> {
                    long done = System.nanoTime();
                    d.live().record(d.bucket(), d.dueOffset(), status, done - d.due(), done - sent, retryAfter >= 0,
                            d.lag());
                    outstanding.decrementAndGet();
                });
            } catch (RuntimeException e) {
                long failed = System.nanoTime();
                d.live().record(d.bucket(), d.dueOffset(), Status.IO_ERROR, failed - d.due(), failed - sent, false,
                        d.lag());
                outstanding.decrementAndGet();
            }
        }
    }

    /** A request whose due time has come: its segment, timeline bucket, due time, lateness, and if dropped. */
    private record Due(Live live, int bucket, long dueOffset, long due, long lag, boolean dropped) {
    }

    /**
     * Waits for {@code ticket}'s due time ({@code segment[0]} follows the tickets through the segments) and
     * counts it as sent, or as dropped when it is more than a timeout late; null if interrupted.
     */
    private static Due waitFor(long ticket, List<Live> lives, int[] segment, long start, long timeoutNanos) {
        while (ticket >= lives.get(segment[0]).firstTicket + lives.get(segment[0]).planned) {
            segment[0]++;
        }
        Live live = lives.get(segment[0]);
        long k = ticket - live.firstTicket;
        long dueOffset = live.dueOffset(k);
        long due = start + live.startOffsetNanos + dueOffset;
        int bucket = live.bucketOf(k);
        long now = parkUntil(due);
        if (now < 0) {
            return null;
        }
        long lag = now - due;
        boolean dropped = lag > timeoutNanos;
        if (dropped) {
            live.record(bucket, dueOffset, Status.DROPPED, lag, 0, false, lag);
        } else {
            live.sending();
        }
        return new Due(live, bucket, dueOffset, due, lag, dropped);
    }

    private static void work(InferClient client, List<Live> lives, AtomicLong counter, long total, long start,
            long timeoutNanos) {
        int[] segment = {0};
        while (true) {
            long ticket = counter.getAndIncrement();
            if (ticket >= total || Thread.currentThread().isInterrupted()) {
                return;
            }
            Due d = waitFor(ticket, lives, segment, start, timeoutNanos);
            if (d == null) {
                return;
            }
            if (d.dropped()) {
                continue;
            }
            long sent = System.nanoTime();
            int status = client.infer();
            boolean hint = Status.isRejection(status) && client.retryHint();
            long done = System.nanoTime();
            d.live().record(d.bucket(), d.dueOffset(), status, done - d.due(), done - sent, hint, d.lag());
        }
    }

    /** Parks until {@code deadline}; returns the time then, or -1 if the thread was interrupted. */
    private static long parkUntil(long deadline) {
        long now;
        while ((now = System.nanoTime()) < deadline) {
            LockSupport.parkNanos(deadline - now);
            if (Thread.currentThread().isInterrupted()) {
                return -1;
            }
        }
        return now;
    }

    private static void sleepUntil(long deadline) {
        long now;
        while ((now = System.nanoTime()) < deadline) {
            LockSupport.parkNanos(deadline - now);
        }
    }
}
