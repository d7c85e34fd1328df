package io.sluice.observability;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * One model version's cumulative statistics, as Triton's statistics extension reports them ({@code GET
 * /v2/models/{m}/stats}, the {@code ModelStatistics} RPC): counts and summed nanoseconds that a client such
 * as perf_analyzer samples twice and subtracts. Counters only, so recording is a few adds on the request path.
 *
 * <p>Per request: {@code success} and {@code fail} (the time from the model's lookup to the answer), {@code
 * cache_hit} and {@code cache_miss}; for requests a run answered, {@code queue} (the wait in the scheduler's
 * queue) and {@code compute_infer} (each request of a batch counts the batch's whole run, as Triton counts
 * it). Per answered run: {@code execution_count}, {@code inference_count} (its rows) and the batch
 * statistics by batch size. A run that failed counts in none of them, as in Triton. Sluice times a run as a
 * whole, its input and output copies included, so {@code compute_input} and {@code compute_output} count the
 * same requests with no time of their own.
 */
public final class VersionStatistics {

    private final String name;
    private final String version;
    private final LongSupplier wallClockMillis;
    private final Sum success = new Sum();
    private final Sum fail = new Sum();
    private final Sum queue = new Sum();
    private final Sum compute = new Sum();
    private final Sum cacheHit = new Sum();
    private final Sum cacheMiss = new Sum();
    private final LongAdder inferences = new LongAdder();
    private final LongAdder executions = new LongAdder();
    private final Map<Integer, Sum> batches = new ConcurrentHashMap<>();
    /**
     * The most batch sizes kept apart. A request with more rows than the model's batches runs alone at its own
     * size (and an input with a zero dimension claims any number of rows without bytes), so the sizes are the
     * clients' to choose; Triton, which refuses such requests, has at most max_batch_size of them.
     */
    static final int MAX_BATCH_SIZES = 1024;
    private volatile long lastInferenceMillis;

    public VersionStatistics(String name, String version, LongSupplier wallClockMillis) {
        this.name = name;
        this.version = version;
        this.wallClockMillis = wallClockMillis;
    }

    /**
     * A request answered after {@code nanos}: {@code cacheHit} when the answer came from the response cache,
     * {@code cacheMiss} when the model computed it for the cache.
     */
    public void succeeded(long nanos, boolean cacheHit, boolean cacheMiss) {
        success.add(1, nanos);
        if (cacheHit) {
            this.cacheHit.add(1, nanos);
        } else if (cacheMiss) {
            this.cacheMiss.add(1, 0);
        }
        lastInferenceMillis = wallClockMillis.getAsLong();
    }

    /**
     * A request failed (refused, invalid, past its deadline, its run failed, or its client cancelled it) after
     * {@code nanos}.
     */
    public void failed(long nanos) {
        fail.add(1, nanos);
        lastInferenceMillis = wallClockMillis.getAsLong();
    }

    /**
     * A run of {@code rows} rows answered {@code requests} requests after {@code nanos}; they had waited
     * {@code waitedNanos} in all in the scheduler's queue.
     */
    public void answered(int requests, int rows, long nanos, long waitedNanos) {
        queue.add(requests, waitedNanos);
        compute.add(requests, requests * nanos);
        inferences.add(rows);
        executions.increment();
        Sum bySize = batches.get(rows);
        if (bySize == null && batches.size() < MAX_BATCH_SIZES) {
            bySize = batches.computeIfAbsent(rows, r -> new Sum());
        }
        if (bySize != null) { // past the cap a new size is counted in the totals alone
            bySize.add(1, nanos);
        }
    }

    /** The statistics now. */
    public Snapshot snapshot() {
        Map<Integer, Duration> bySize = new ConcurrentSkipListMap<>();
        batches.forEach((size, sum) -> bySize.put(size, sum.read()));
        List<Batch> batchList = bySize.entrySet().stream().map(e -> new Batch(e.getKey(), e.getValue())).toList();
        return new Snapshot(name, version, lastInferenceMillis, inferences.sum(), executions.sum(), success.read(),
                fail.read(), queue.read(), compute.read(), cacheHit.read(), cacheMiss.read(), batchList);
    }

    /**
     * A count and the nanoseconds summed over it.
     *
     * @param count how many times it happened
     * @param nanos their total duration
     */
    public record Duration(long count, long nanos) {}

    /**
     * The runs of one batch size.
     *
     * @param size rows in the batch
     * @param computeInfer the runs of that size and their total time
     */
    public record Batch(int size, Duration computeInfer) {}

    /**
     * One version's statistics at one moment.
     *
     * @param name model name
     * @param version version
     * @param lastInferenceMillis when the last request finished, in ms since the epoch; 0 before any
     * @param inferenceCount rows run
     * @param executionCount runs
     * @param success requests answered, cache hits included
     * @param fail requests that failed
     * @param queue waits in the queue
     * @param computeInfer the runs, counted per request
     * @param cacheHit requests answered from the response cache
     * @param cacheMiss requests the model computed for the cache (no time of their own)
     * @param batches the runs by batch size, smallest first
     */
    public record Snapshot(String name, String version, long lastInferenceMillis, long inferenceCount,
            long executionCount, Duration success, Duration fail, Duration queue, Duration computeInfer,
            Duration cacheHit, Duration cacheMiss, List<Batch> batches) {}

    /** A count and a sum of nanoseconds; read without a lock, so the two may be one event apart. */
    private static final class Sum {
        private final LongAdder count = new LongAdder();
        private final LongAdder nanos = new LongAdder();

        void add(long n, long ns) {
            count.add(n);
            nanos.add(ns);
        }

        Duration read() {
            return new Duration(count.sum(), nanos.sum());
        }
    }
}
