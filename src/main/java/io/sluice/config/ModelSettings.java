package io.sluice.config;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * One model's resolved settings: the model's override, else {@code sluice.model-defaults}, else the
 * constant named here.
 */
public record ModelSettings(
        boolean required,
        VersionPolicy versionPolicy,
        ExecutionProvider provider,
        int deviceId,
        GpuUnavailablePolicy onGpuUnavailable,
        Optional<Long> gpuMemoryLimit,
        boolean tensorrtFp16,
        Optional<String> tensorrtEngineCache,
        int intraOpThreads,
        int interOpThreads,
        int threadNice,
        long eventLoopRunMaxMicros,
        int maxBatchSize,
        long maxQueueDelayMicros,
        List<Integer> preferredBatchSizes,
        int instances,
        int queueSize,
        int priorityLevels,
        boolean warmupEnabled,
        List<Integer> warmupBatchSizes,
        int warmupCount,
        WarmupData warmupData,
        int warmupDynamicDimSize,
        Admission admission,
        boolean cacheEnabled,
        int cacheMinUses) {

    /**
     * The resolved guards of one model.
     *
     * @param maxConcurrent requests executing at once; the bulkhead admits this plus the queue size
     * @param timeout longest time inside the model
     * @param circuitBreaker whether the breaker is on
     * @param requestVolume calls in the breaker's window
     * @param failureRatio failing share that opens it
     * @param circuitDelay how long it stays open
     * @param adaptive the adaptive concurrency limit
     * @param shedding what the model admits after its bulkhead overflowed
     */
    public record Admission(int maxConcurrent, Duration timeout, boolean circuitBreaker, int requestVolume,
            double failureRatio, Duration circuitDelay, Adaptive adaptive, Shedding shedding) {

        public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);
        public static final int DEFAULT_REQUEST_VOLUME = 20;
        public static final double DEFAULT_FAILURE_RATIO = 0.5;
        public static final Duration DEFAULT_CIRCUIT_DELAY = Duration.ofSeconds(5);

        /** Guards without an adaptive limit and without shedding: the bulkhead alone. */
        public Admission(int maxConcurrent, Duration timeout, boolean circuitBreaker, int requestVolume,
                double failureRatio, Duration circuitDelay) {
            this(maxConcurrent, timeout, circuitBreaker, requestVolume, failureRatio, circuitDelay, Adaptive.OFF,
                    Shedding.OFF);
        }

        public Admission {
            requirePositive("admission.max-concurrent", maxConcurrent);
            requirePositive("admission.circuit-breaker.request-volume", requestVolume);
            if (timeout.compareTo(Duration.ofMillis(1)) < 0) { // SmallRye takes whole milliseconds, and refuses 0
                throw new IllegalArgumentException("admission.timeout must be at least 1 ms, was " + timeout);
            }
            if (!(failureRatio > 0 && failureRatio <= 1)) {
                throw new IllegalArgumentException("admission.circuit-breaker.failure-ratio must be in (0, 1], was "
                        + failureRatio);
            }
            if (circuitDelay.isNegative()) {
                throw new IllegalArgumentException("admission.circuit-breaker.delay must be at least 0, was " + circuitDelay);
            }
        }
    }

    /**
     * The adaptive concurrency limit of one model.
     *
     * @param enabled whether it is on
     * @param minLimit where it starts and its floor
     * @param tolerance latency over the no-load latency a window may reach before the limit shrinks
     * @param window finished requests per adjustment
     */
    public record Adaptive(boolean enabled, int minLimit, double tolerance, int window) {

        public static final double DEFAULT_TOLERANCE = 2.0;
        public static final int DEFAULT_WINDOW = 10;
        static final Adaptive OFF = new Adaptive(false, 1, DEFAULT_TOLERANCE, DEFAULT_WINDOW);

        public Adaptive {
            requirePositive("admission.adaptive.min-limit", minLimit);
            requirePositive("admission.adaptive.window", window);
            if (!(tolerance > 1)) {
                throw new IllegalArgumentException("admission.adaptive.tolerance must be > 1, was " + tolerance);
            }
        }
    }

    /**
     * What a model admits after its bulkhead overflowed (see {@code io.sluice.admission.ShedMode}).
     *
     * @param enabled whether an overflow switches the model to shedding
     * @param queueSize requests that may wait for an instance while shedding
     * @param maxBatchSize the most rows in one batch while shedding
     */
    public record Shedding(boolean enabled, int queueSize, int maxBatchSize) {

        static final Shedding OFF = new Shedding(false, 1, Integer.MAX_VALUE);

        public Shedding {
            requirePositive("admission.shedding.queue-size", queueSize);
            requirePositive("admission.shedding.max-batch-size", maxBatchSize);
        }

        /**
         * The default queue while shedding: on CPU one request, ready for whichever instance frees next
         * (with batches of one row it then waits for at most one row); on a GPU a full batch per
         * instance.
         */
        static int defaultQueueSize(ExecutionProvider provider, int instances, int maxBatchSize) {
            return provider == ExecutionProvider.CPU ? 1 : perInstance(instances, maxBatchSize);
        }

        /**
         * The default batch limit while shedding: on CPU one row, so an admitted request waits for one
         * row rather than a batch; on a GPU, where a row more costs little, the model's max batch size.
         */
        static int defaultMaxBatchSize(ExecutionProvider provider, int maxBatchSize) {
            return provider == ExecutionProvider.CPU ? 1 : maxBatchSize;
        }
    }

    /** Requests the bulkhead admits at once: executing plus waiting. */
    public int capacity() {
        return admission.maxConcurrent() + queueSize;
    }

    public static final boolean DEFAULT_REQUIRED = true;
    public static final ExecutionProvider DEFAULT_PROVIDER = ExecutionProvider.CPU;
    public static final int DEFAULT_DEVICE_ID = 0;
    public static final GpuUnavailablePolicy DEFAULT_ON_GPU_UNAVAILABLE = GpuUnavailablePolicy.FALLBACK;
    /** Two runs at once saturate two cores best here; more cores get more instances. */
    /** Computations of one response before the cache stores it (ModelConfig.Cache#minUses). */
    public static final int DEFAULT_CACHE_MIN_USES = 2;
    public static final int DEFAULT_INSTANCES = Math.min(2, Runtime.getRuntime().availableProcessors());
    public static final int DEFAULT_INTER_OP_THREADS = 1;
    public static final int DEFAULT_THREAD_NICE = 10;
    /** The highest nice value Linux has; lower than 0 would need privilege. */
    public static final int MAX_THREAD_NICE = 19;
    /**
     * The longest run an event loop makes itself (ModelConfig.Threads#eventLoopRunMaxMicros): about what waking an
     * instance thread and the event loop again costs on a busy 2-core host, so the loop gives up no more time to a
     * run than the hand-offs it saves would have taken.
     */
    public static final long DEFAULT_EVENT_LOOP_RUN_MAX_MICROS = 50;
    /** A millisecond: an event loop held longer would hold back every other connection on it noticeably. */
    public static final long MAX_EVENT_LOOP_RUN_MAX_MICROS = 1_000;
    public static final int DEFAULT_MAX_BATCH_SIZE = 8;
    public static final long DEFAULT_MAX_QUEUE_DELAY_MICROS = 0;
    public static final int DEFAULT_PRIORITY_LEVELS = 1;
    /** The most priority levels a model may have. */
    public static final int MAX_PRIORITY_LEVELS = 1000;
    public static final boolean DEFAULT_WARMUP_ENABLED = true;
    public static final int DEFAULT_WARMUP_COUNT = 1;
    public static final WarmupData DEFAULT_WARMUP_DATA = WarmupData.RANDOM;
    public static final int DEFAULT_WARMUP_DYNAMIC_DIM_SIZE = 16;
    /** An hour: a request waits no longer for company (its time in nanoseconds is then added without overflow). */
    public static final long MAX_QUEUE_DELAY_MICROS = 3_600_000_000L;

    public ModelSettings {
        if (provider.gpu() && deviceId < 0) { // read for a GPU provider only
            throw new IllegalArgumentException("execution.device-id must be at least 0, was " + deviceId);
        }
        gpuMemoryLimit.filter(limit -> limit < 1).ifPresent(limit -> {
            throw new IllegalArgumentException("execution.gpu-memory-limit must be at least 1 byte, was " + limit);
        });
        requirePositive("threads.intra-op", intraOpThreads);
        requirePositive("threads.inter-op", interOpThreads);
        if (threadNice < 0 || threadNice > MAX_THREAD_NICE) {
            throw new IllegalArgumentException("threads.nice must be between 0 and " + MAX_THREAD_NICE + ", got " + threadNice);
        }
        if (eventLoopRunMaxMicros < 0 || eventLoopRunMaxMicros > MAX_EVENT_LOOP_RUN_MAX_MICROS) {
            throw new IllegalArgumentException("threads.event-loop-run-max-micros must be from 0 to "
                    + MAX_EVENT_LOOP_RUN_MAX_MICROS + ", got " + eventLoopRunMaxMicros);
        }
        requirePositive("batching.max-batch-size", maxBatchSize);
        requirePositive("batching.instances", instances);
        requirePositive("cache.min-uses", cacheMinUses);
        requirePositive("batching.queue-size", queueSize);
        // the bulkhead's capacity is an int, to which SmallRye adds its queue slot
        if ((long) admission.maxConcurrent() + queueSize > Integer.MAX_VALUE - 1) {
            throw new IllegalArgumentException("admission.max-concurrent + batching.queue-size must be at most "
                    + (Integer.MAX_VALUE - 1) + " (the bulkhead's capacity), was " + admission.maxConcurrent() + " + "
                    + queueSize);
        }
        requirePositive("batching.priority-levels", priorityLevels);
        if (priorityLevels > MAX_PRIORITY_LEVELS) {
            // each level is a queue the batcher holds and looks through: a count in the millions would take the
            // heap at load
            throw new IllegalArgumentException("batching.priority-levels must be at most " + MAX_PRIORITY_LEVELS
                    + ", was " + priorityLevels);
        }
        requirePositive("warmup.count", warmupCount);
        requirePositive("warmup.dynamic-dim-size", warmupDynamicDimSize);
        if (maxQueueDelayMicros < 0 || maxQueueDelayMicros > MAX_QUEUE_DELAY_MICROS) {
            throw new IllegalArgumentException("batching.max-queue-delay-micros must be from 0 to " + MAX_QUEUE_DELAY_MICROS
                    + " (an hour), got " + maxQueueDelayMicros);
        }
        warmupBatchSizes.forEach(b -> requirePositive("warmup.batch-sizes", b));
        for (int b : warmupBatchSizes) {
            if (b > maxBatchSize) {
                throw new IllegalArgumentException("warmup.batch-sizes: " + b + " is above batching.max-batch-size "
                        + maxBatchSize + ", and no batch of the model can have more rows");
            }
        }
        preferredBatchSizes.forEach(b -> requirePositive("batching.preferred-batch-sizes", b));
    }

    /**
     * The batch sizes warmed when none are configured: 1, each preferred size and the largest batch, so that
     * no batch size the scheduler forms on its own meets a cold runtime (ONNX Runtime sizes its buffers on
     * the first run of each shape).
     */
    public static List<Integer> defaultWarmupBatchSizes(int maxBatchSize, List<Integer> preferred) {
        TreeSet<Integer> sizes = new TreeSet<>();
        sizes.add(1);
        preferred.stream().filter(b -> b <= maxBatchSize).forEach(sizes::add);
        sizes.add(maxBatchSize);
        return List.copyOf(sizes);
    }

    /** Intra-op threads that fit the cores: cores divided among the instances, at least one. */
    public static int defaultIntraOpThreads(int instances) {
        return Math.max(1, Runtime.getRuntime().availableProcessors() / instances);
    }

    /** Resolves the settings of {@code model}. */
    public static ModelSettings resolve(SluiceConfig config, String model) {
        return resolve(config, model, null);
    }

    /**
     * Resolves the settings of {@code model} as it runs on {@code runsOn}: the defaults that follow the
     * hardware (while shedding: the queue and the batch limit) are taken for it rather than the configured
     * provider, as after a fallback from a GPU to the CPU. Null means the configured provider.
     */
    public static ModelSettings resolve(SluiceConfig config, String model, ExecutionProvider runsOn) {
        ModelConfig d = config.modelDefaults();
        ModelConfig o = config.models().get(model);
        int instances = pick(o, d, c -> c.batching().instances(), DEFAULT_INSTANCES);
        int maxBatchSize = pick(o, d, c -> c.batching().maxBatchSize(), DEFAULT_MAX_BATCH_SIZE);
        ExecutionProvider provider = pick(o, d, c -> c.execution().provider(), DEFAULT_PROVIDER);
        List<Integer> preferred = pick(o, d, c -> c.batching().preferredBatchSizes(), List.of());
        ExecutionProvider hardware = runsOn == null ? provider : runsOn;
        return new ModelSettings(
                pick(o, d, ModelConfig::required, DEFAULT_REQUIRED),
                VersionPolicy.parse(pick(o, d, ModelConfig::versionPolicy, VersionPolicy.ALL.toString())),
                provider,
                pick(o, d, c -> c.execution().deviceId(), DEFAULT_DEVICE_ID),
                pick(o, d, c -> c.execution().onGpuUnavailable(), DEFAULT_ON_GPU_UNAVAILABLE),
                first(o, d, c -> c.execution().gpuMemoryLimit()),
                pick(o, d, c -> c.execution().tensorrtFp16(), false),
                first(o, d, c -> c.execution().tensorrtEngineCache()),
                pick(o, d, c -> c.threads().intraOp(), defaultIntraOpThreads(instances)),
                pick(o, d, c -> c.threads().interOp(), DEFAULT_INTER_OP_THREADS),
                pick(o, d, c -> c.threads().nice(), DEFAULT_THREAD_NICE),
                pick(o, d, c -> c.threads().eventLoopRunMaxMicros(), DEFAULT_EVENT_LOOP_RUN_MAX_MICROS),
                maxBatchSize,
                pick(o, d, c -> c.batching().maxQueueDelayMicros(), DEFAULT_MAX_QUEUE_DELAY_MICROS),
                preferred,
                instances,
                pick(o, d, c -> c.batching().queueSize(), perInstance(instances, maxBatchSize)),
                pick(o, d, c -> c.batching().priorityLevels(), DEFAULT_PRIORITY_LEVELS),
                pick(o, d, c -> c.warmup().enabled(), DEFAULT_WARMUP_ENABLED),
                pick(o, d, c -> c.warmup().batchSizes(), defaultWarmupBatchSizes(maxBatchSize, preferred)),
                pick(o, d, c -> c.warmup().count(), DEFAULT_WARMUP_COUNT),
                pick(o, d, c -> c.warmup().data(), DEFAULT_WARMUP_DATA),
                pick(o, d, c -> c.warmup().dynamicDimSize(), DEFAULT_WARMUP_DYNAMIC_DIM_SIZE),
                new Admission(
                        pick(o, d, c -> c.admission().maxConcurrent(), perInstance(instances, maxBatchSize)),
                        pick(o, d, c -> c.admission().timeout(), Admission.DEFAULT_TIMEOUT),
                        pick(o, d, c -> c.admission().circuitBreaker().enabled(), true),
                        pick(o, d, c -> c.admission().circuitBreaker().requestVolume(), Admission.DEFAULT_REQUEST_VOLUME),
                        pick(o, d, c -> c.admission().circuitBreaker().failureRatio(), Admission.DEFAULT_FAILURE_RATIO),
                        pick(o, d, c -> c.admission().circuitBreaker().delay(), Admission.DEFAULT_CIRCUIT_DELAY),
                        new Adaptive(
                                pick(o, d, c -> c.admission().adaptive().enabled(), false),
                                pick(o, d, c -> c.admission().adaptive().minLimit(), instances),
                                pick(o, d, c -> c.admission().adaptive().tolerance(), Adaptive.DEFAULT_TOLERANCE),
                                pick(o, d, c -> c.admission().adaptive().window(), Adaptive.DEFAULT_WINDOW)),
                        new Shedding(
                                pick(o, d, c -> c.admission().shedding().enabled(), true),
                                pick(o, d, c -> c.admission().shedding().queueSize(),
                                        Shedding.defaultQueueSize(hardware, instances, maxBatchSize)),
                                Math.min(maxBatchSize, pick(o, d, c -> c.admission().shedding().maxBatchSize(),
                                        Shedding.defaultMaxBatchSize(hardware, maxBatchSize))))),
                pick(o, d, c -> c.cache().enabled(), false),
                pick(o, d, c -> c.cache().minUses(), DEFAULT_CACHE_MIN_USES));
    }

    private static <T> T pick(
            ModelConfig override, ModelConfig defaults, Function<ModelConfig, Optional<T>> get, T fallback) {
        return first(override, defaults, get).orElse(fallback);
    }

    private static <T> Optional<T> first(
            ModelConfig override, ModelConfig defaults, Function<ModelConfig, Optional<T>> get) {
        Optional<T> value = override == null ? Optional.empty() : get.apply(override);
        return value.isPresent() ? value : get.apply(defaults);
    }

    /** {@code instances × maxBatchSize}, the default bulkhead sizes, up to half the largest int: the two add up. */
    private static int perInstance(int instances, int maxBatchSize) {
        return (int) Math.min(Integer.MAX_VALUE / 2, (long) instances * maxBatchSize);
    }

    private static void requirePositive(String key, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(key + " must be >= 1, was " + value);
        }
    }
}
