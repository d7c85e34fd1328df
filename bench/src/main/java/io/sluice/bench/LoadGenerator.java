package io.sluice.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Drives clients for a warm-up period and then a measured period, in one of two shapes.
 *
 * <ul>
 *   <li>Closed loop: N workers, each sends, waits for the answer, sends again. A request counts when it
 *       is sent inside the measured period, however late it ends (the run waits for it); latency is send
 *       to answer. Counting only those that also ended inside it lost about N / period req/s at the end.
 *   <li>Open loop: requests are due at a fixed rate (request i at start + i/rate) whether or not earlier
 *       ones have been answered; latency runs from the due time, not the actual send, so a stalled server
 *       is charged for the wait it causes (no coordinated omission). At most {@code maxInFlight}
 *       requests are outstanding (one per worker); a request that could not be sent within the timeout
 *       of its due time is counted as {@code dropped} instead of sent, so the backlog stays bounded.
 *       A request counts when it is due inside the measured period.
 * </ul>
 *
 * Every run is bounded: by time (warm-up + measure, then at most one timeout to drain) and by
 * {@code maxRequests}.
 */
final class LoadGenerator {
    private static final long IDLE_BACKOFF_NANOS = 5_000_000;
    private static final long MAX_RETRY_AFTER_NANOS = 1_000_000_000;

    private final long warmupNanos;
    private final long measureNanos;
    private final long timeoutNanos;
    private final long maxRequests;

    LoadGenerator(double warmupSeconds, double measureSeconds, double timeoutSeconds, long maxRequests) {
        this.warmupNanos = Settings.nanos(warmupSeconds);
        this.measureNanos = Settings.nanos(measureSeconds);
        this.timeoutNanos = Settings.nanos(timeoutSeconds);
        this.maxRequests = maxRequests;
    }

    /** The shared clock of one run. */
    private final class Window {
        final long start = System.nanoTime() + 20_000_000;
        final long measureStart = start + warmupNanos;
        final long end = measureStart + measureNanos;
        final AtomicLong counter = new AtomicLong();
    }

    private interface Loop {
        void run(InferClient client, Recorder recorder, Window window);
    }

    /**
     * The closed loop. Clients that can send asynchronously (gRPC) run it as {@code concurrency} chains of
     * calls, each sent from the previous one's completion on the transport's event loop
     * ({@link #closedAsync}); the others with one blocking thread per worker.
     */
    LoadResult closed(ClientFactory clients, int concurrency) {
        return clients.canSendAsync() ? closedAsync(clients, concurrency) : closedBlocking(clients, concurrency);
    }

    private LoadResult closedBlocking(ClientFactory clients, int concurrency) {
        return run(clients, concurrency, 0, (client, recorder, w) -> {
            while (true) {
                long sent = System.nanoTime();
                if (sent >= w.end || w.counter.getAndIncrement() >= maxRequests) {
                    return;
                }
                int status = client.infer();
                long done = System.nanoTime();
                if (sent >= w.measureStart) { // every request sent in the window, however late it ends
                    recorder.sent++;
                    recorder.record(status, done - sent);
                }
                long retryAfter = Status.isRejection(status) ? client.retryAfterNanos() : 0;
                if (retryAfter > 0) {
                    // turned away with a hint: come back when told, as a well-behaved client does (at most 1 s)
                    LockSupport.parkNanos(Math.min(retryAfter, MAX_RETRY_AFTER_NANOS));
                } else if (status != Status.OK && done - sent < 1_000_000) {
                    LockSupport.parkNanos(IDLE_BACKOFF_NANOS); // refused/failing fast: do not spin
                }
            }
        });
    }

    /**
     * The closed loop without a thread per worker: each of {@code concurrency} chains sends its next request
     * from the completion of its last, on the channel's event loop, so the client adds no thread hand-off
     * to a request's latency (a blocking gRPC call wakes the event loop to send and the caller to answer,
     * about 0.1 ms here, which the raw-socket REST client does not pay). Same accounting, retry hints and
     * back-off as {@link #closedBlocking}; a chain's steps run one after the other, so its recorder needs
     * no lock.
     */
    private LoadResult closedAsync(ClientFactory factory, int concurrency) {
        List<InferClient> clients = new ArrayList<>();
        List<Recorder> recorders = new ArrayList<>();
        ScheduledExecutorService later = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread t = new Thread(task, "closed-later");
            t.setDaemon(true);
            return t;
        });
        try {
            for (int i = 0; i < concurrency; i++) {
                clients.add(factory.create(i));
                recorders.add(new Recorder());
            }
            Window w = new Window();
            CountDownLatch finished = new CountDownLatch(concurrency);
            for (int i = 0; i < concurrency; i++) {
                Chain chain = new Chain(clients.get(i), recorders.get(i), w, finished, later);
                later.schedule(chain::next, w.start - System.nanoTime(), TimeUnit.NANOSECONDS);
            }
            long left = w.end + timeoutNanos + 10_000_000_000L - System.nanoTime();
            boolean done = finished.await(left, TimeUnit.NANOSECONDS);
            String note = done ? "" : finished.getCount() + " chains did not finish in time";
            return LoadResult.of(Recorder.merge(recorders), measureNanos / 1e9, 0, note);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return LoadResult.of(Recorder.merge(recorders), measureNanos / 1e9, 0, "interrupted");
        } finally {
            later.shutdownNow();
            clients.forEach(InferClient::close);
        }
    }

    /** One closed-loop worker as a chain of asynchronous calls. */
    private final class Chain {
        private final InferClient client;
        private final Recorder recorder;
        private final Window w;
        private final CountDownLatch finished;
        private final ScheduledExecutorService later;

        Chain(InferClient client, Recorder recorder, Window w, CountDownLatch finished,
                ScheduledExecutorService later) {
            this.client = client;
            this.recorder = recorder;
            this.w = w;
            this.finished = finished;
            this.later = later;
        }

        void next() {
            long sent = System.nanoTime();
            if (sent >= w.end || w.counter.getAndIncrement() >= maxRequests) {
                finished.countDown();
                return;
            }
            try {
                client.inferAsync((status, retryAfter) -> answered(sent, status, retryAfter));
            } catch (RuntimeException e) {
                answered(sent, Status.IO_ERROR, -1);
            }
        }

        private void answered(long sent, int status, long retryAfter) {
            long done = System.nanoTime();
            if (sent >= w.measureStart) { // every request sent in the window, however late it ends
                recorder.sent++;
                recorder.record(status, done - sent);
            }
            long wait = 0;
            if (Status.isRejection(status) && retryAfter > 0) {
                wait = Math.min(retryAfter, MAX_RETRY_AFTER_NANOS);
            } else if (status != Status.OK && done - sent < 1_000_000) {
                wait = IDLE_BACKOFF_NANOS;
            }
            if (wait > 0) {
                later.schedule(this::next, wait, TimeUnit.NANOSECONDS);
            } else {
                next();
            }
        }
    }

    LoadResult open(ClientFactory clients, double ratePerSecond, int maxInFlight) {
        double interval = 1e9 / ratePerSecond;
        return run(clients, maxInFlight, ratePerSecond, (client, recorder, w) -> {
            while (true) {
                long ticket = w.counter.getAndIncrement();
                long due = w.start + (long) (ticket * interval);
                if (due >= w.end || ticket >= maxRequests) {
                    return;
                }
                long now;
                while ((now = System.nanoTime()) < due) {
                    LockSupport.parkNanos(due - now);
                }
                boolean measured = due >= w.measureStart;
                long lag = now - due;
                if (measured) {
                    recorder.maxLagNanos = Math.max(recorder.maxLagNanos, lag);
                }
                if (lag > timeoutNanos) {
                    if (measured) {
                        recorder.record(Status.DROPPED, lag);
                    }
                    continue;
                }
                int status = client.infer();
                long done = System.nanoTime();
                if (status == Status.OK && done >= w.measureStart && done < w.end) {
                    recorder.okInWindow++; // its throughput, whenever it was due
                }
                if (measured) {
                    recorder.sent++;
                    recorder.record(status, done - due);
                }
            }
        });
    }

    private LoadResult run(ClientFactory factory, int workers, double rate, Loop loop) {
        List<InferClient> clients = new ArrayList<>();
        List<Recorder> recorders = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        CountDownLatch go = new CountDownLatch(1);
        Window[] window = new Window[1];
        try {
            for (int i = 0; i < workers; i++) {
                InferClient client = factory.create(i);
                Recorder recorder = new Recorder();
                clients.add(client);
                recorders.add(recorder);
                Thread t = new Thread(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    loop.run(client, recorder, window[0]);
                }, "load-" + i);
                t.setDaemon(true);
                threads.add(t);
                t.start();
            }
            window[0] = new Window();
            go.countDown();
            int stuck = joinAll(threads, window[0].end + timeoutNanos + 10_000_000_000L);
            String note = stuck == 0 ? "" : stuck + " workers did not finish in time";
            return LoadResult.of(Recorder.merge(recorders), measureNanos / 1e9, rate, note);
        } finally {
            threads.forEach(Thread::interrupt);
            clients.forEach(InferClient::close);
        }
    }

    /** Waits for the workers until {@code deadline}; returns how many had to be abandoned. */
    static int joinAll(List<Thread> threads, long deadline) {
        int stuck = 0;
        for (Thread t : threads) {
            long left = deadline - System.nanoTime();
            try {
                if (left > 0) {
                    t.join(Math.max(1, left / 1_000_000));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (t.isAlive()) {
                stuck++;
            }
        }
        return stuck;
    }
}
