package io.sluice.config;

import io.smallrye.config.WithName;
import java.util.List;
import java.util.Optional;

/**
 * One model's settings. Every value is optional here: an unset value in {@code sluice.models."<name>"}
 * falls back to {@code sluice.model-defaults}, and an unset default to the named constant in
 * {@link ModelSettings}.
 */
public interface ModelConfig {

    /** Whether server readiness waits for this model. */
    Optional<Boolean> required();

    /** Which of the versions found are served: {@code all}, {@code latest[:N]} or {@code specific:V[,V...]} ({@link VersionPolicy}). */
    @WithName("version-policy")
    Optional<String> versionPolicy();

    /** Which execution provider runs the model. */
    Execution execution();

    /** ONNX Runtime thread layout. */
    Threads threads();

    /** The per-model scheduler: queue, batcher and instances. */
    Batching batching();

    /** Prewarm before the model turns READY. */
    Warmup warmup();

    /** The model's guards: bulkhead, timeout, circuit breaker. */
    Admission admission();

    /** The response cache, for deterministic models. */
    Cache cache();

    /** Response cache of one model; the tiers themselves are configured under {@code sluice.cache}. */
    interface Cache {
        /** Whether identical requests are served from the cache (off unless the model is deterministic). */
        Optional<Boolean> enabled();

        /**
         * How many times a response must have been computed before it is stored (as nginx's
         * {@code proxy_cache_min_uses}); default 2: one-off requests are never copied into L1 or written
         * to L2, so traffic that never repeats pays for a key, not for holding its outputs. 1 stores every
         * response. Identical requests in flight together are coalesced either way.
         */
        @WithName("min-uses")
        Optional<Integer> minUses();
    }

    /** Per-model guards (SmallRye Fault Tolerance). */
    interface Admission {
        /**
         * Requests that may execute at once; with {@code batching.queue-size} waiting slots this is the
         * bulkhead. Default: instances × max batch size (every instance running a full batch).
         */
        Optional<Integer> maxConcurrent();

        /** Longest a request may take inside the model (queue and run) before 504 / DEADLINE_EXCEEDED. */
        Optional<java.time.Duration> timeout();

        /** Circuit breaker on runtime failures. */
        CircuitBreaker circuitBreaker();

        /** Gradient-style adaptive concurrency limit inside the bulkhead; off by default. */
        Adaptive adaptive();

        /** What the model admits once its bulkhead has overflowed, until it catches up; on by default. */
        Shedding shedding();

        /**
         * When a request finds the bulkhead full, the model is overloaded: from then on it admits a
         * request only while fewer than {@code queue-size} wait for an instance, so those it admits
         * wait for one short batch instead of a full queue, until a 500 ms window shows the overload
         * is over: its instances waited for work more than a tenth of it, or it turned away at most 2 %
         * of its arrivals (see {@code io.sluice.admission.ShedMode}). A closed loop within the bulkhead
         * never overflows it, and never sees the smaller queue.
         */
        interface Shedding {
            /** Whether an overflow switches the model to the smaller queue; default true. */
            Optional<Boolean> enabled();

            /**
             * Requests that may wait for an instance while shedding; default on {@code cpu}: 1 (one
             * request ready for whichever instance frees next, so with batches of one row an admitted
             * request waits for at most one row), on {@code cuda} and {@code tensorrt}: instances × max
             * batch size.
             */
            @WithName("queue-size")
            Optional<Integer> queueSize();

            /**
             * The most rows in one batch while shedding; default on {@code cpu}: 1 (a batch on CPU costs
             * about its rows' time, so an admitted request then waits for one row, not one batch), on
             * {@code cuda} and {@code tensorrt}: the model's max batch size.
             */
            @WithName("max-batch-size")
            Optional<Integer> maxBatchSize();
        }

        /**
         * Lets in as many requests at once as the model answers within {@code tolerance} × its no-load
         * latency (see {@code io.sluice.admission.AdaptiveLimit}); the bulkhead stays the upper bound.
         */
        interface Adaptive {
            /** Whether the adaptive limit is on. */
            Optional<Boolean> enabled();

            /** The limit it starts at and never goes below; default: the model's instances. */
            @WithName("min-limit")
            Optional<Integer> minLimit();

            /** How many times the no-load latency a window may take before the limit shrinks; default 2. */
            Optional<Double> tolerance();

            /** Finished requests per adjustment; default 10. */
            Optional<Integer> window();
        }

        /** Opens after {@code failure-ratio} of the last {@code request-volume} runs failed; half-opens after {@code delay}. */
        interface CircuitBreaker {
            /** Whether the breaker is on. */
            Optional<Boolean> enabled();

            /** Rolling window of calls it judges. */
            Optional<Integer> requestVolume();

            /** Failing share of the window that opens it. */
            Optional<Double> failureRatio();

            /** How long it stays open before a trial call. */
            Optional<java.time.Duration> delay();
        }
    }

    /** Execution provider settings. */
    interface Execution {
        /** {@code cpu}, {@code cuda} or {@code tensorrt}. */
        Optional<ExecutionProvider> provider();

        /** GPU device id for {@code cuda} and {@code tensorrt}. */
        @WithName("device-id")
        Optional<Integer> deviceId();

        /** What to do when the GPU provider cannot be had: {@code fallback} to CPU, or {@code fail} the model. */
        @WithName("on-gpu-unavailable")
        Optional<GpuUnavailablePolicy> onGpuUnavailable();

        /** CUDA arena limit in bytes; unset leaves ONNX Runtime's default. */
        @WithName("gpu-memory-limit")
        Optional<Long> gpuMemoryLimit();

        /** TensorRT: allow FP16 kernels. */
        @WithName("tensorrt-fp16")
        Optional<Boolean> tensorrtFp16();

        /** TensorRT: directory for the engine cache; unset disables the cache. */
        @WithName("tensorrt-engine-cache")
        Optional<String> tensorrtEngineCache();
    }

    /** Thread layout; intra-op threads x instances should not exceed the cores. */
    interface Threads {
        /** Threads one run may use inside an operator. */
        @WithName("intra-op")
        Optional<Integer> intraOp();

        /** Threads across independent operators of one run. */
        @WithName("inter-op")
        Optional<Integer> interOp();

        /**
         * Nice value (0-19) of the threads that run the model: above the event loops' 0, so that the
         * event loops get a core first while the model keeps the cores busy; 0 leaves the model's
         * threads at the process's priority.
         */
        Optional<Integer> nice();

        /**
         * The longest run, in microseconds, that the event loop which received a request may make itself: when an
         * instance is idle, nothing is queued, the model's previous request came at least twice this long before, and
         * the model's recent runs say this request takes at most this long, it runs in that instance's place instead
         * of waking it (and the event loop again for the answer). 0 runs every request on the instance threads.
         */
        @WithName("event-loop-run-max-micros")
        Optional<Long> eventLoopRunMaxMicros();
    }

    /** Scheduler settings. */
    interface Batching {
        /** Largest batch, in rows; clamped to 1 when the model has no dynamic batch dimension. */
        @WithName("max-batch-size")
        Optional<Integer> maxBatchSize();

        /** How long the oldest queued request may wait for a fuller batch, in microseconds. */
        @WithName("max-queue-delay-micros")
        Optional<Long> maxQueueDelayMicros();

        /** Batch sizes to prefer when the delay allows; empty means none. */
        @WithName("preferred-batch-sizes")
        Optional<List<Integer>> preferredBatchSizes();

        /** Concurrent runs of the model (execution instances). */
        Optional<Integer> instances();

        /** Queued requests allowed before new ones are rejected with 503. */
        @WithName("queue-size")
        Optional<Integer> queueSize();

        /**
         * Priority levels; the {@code priority} parameter selects 1 (the highest, as in Triton) to this number
         * (the lowest); 0 or none is the lowest.
         */
        @WithName("priority-levels")
        Optional<Integer> priorityLevels();
    }

    /** Warmup settings. */
    interface Warmup {
        /** Whether to warm the model before READY. */
        Optional<Boolean> enabled();

        /**
         * Batch sizes to warm, none above {@code batching.max-batch-size}; each runs {@link #count()} times.
         * Default: 1, the preferred sizes and the largest batch.
         */
        @WithName("batch-sizes")
        Optional<List<Integer>> batchSizes();

        /** Runs per batch size. */
        Optional<Integer> count();

        /** {@code zero}, {@code random} or {@code files} (raw tensors under {@code <version>/warmup/<input>}). */
        Optional<WarmupData> data();

        /** Size used for every dynamic non-batch dimension. */
        @WithName("dynamic-dim-size")
        Optional<Integer> dynamicDimSize();
    }
}
