package io.sluice.api;

import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Where the adapters read inference requests too large to read on an event loop. Reading 64 MB of JSON takes
 * seconds, and an event loop doing it holds up every other connection it serves, health probes included; a
 * compressed body of 100 KB can inflate to that. Such a REST body, or a compressed gRPC {@code ModelInfer} message
 * that could inflate past 1 MiB, is read on one of these threads instead.
 *
 * <p>There are as many as event loops ({@code quarkus.vertx.event-loops-pool-size}, two per core by default), so no
 * more large bodies are read, and held decoded in memory, at once than the event loops could read before; as many
 * more may wait their turn, in arrival order, and past that a request is turned away (503 {@code queue_full}, from
 * {@link io.sluice.inference.InferenceService#readersFull}), as a full model turns one away.
 */
@ApplicationScoped
public class LargeBodies {

    /** JSON (the whole body, or a binary request's JSON header) past this is read here: some ms of parsing. */
    static final int LARGE_JSON_BYTES = 256 * 1024;
    /** A binary request past this is read here: its tensors are copied once more as it is read. */
    static final int LARGE_BODY_BYTES = 8 * 1024 * 1024;
    /**
     * A compressed gRPC message that could inflate past this is read here: protobuf is read some ten times faster than
     * JSON, and a reader's hop would cost a small compressed call more than its reading.
     */
    static final int LARGE_MESSAGE_BYTES = 1024 * 1024;
    /** How much deflate (gzip's too) can inflate at most: about 1032 to 1. */
    static final int MOST_INFLATION = 1032;

    private ThreadPoolExecutor threads;

    /** Vert.x's event loops, when set; two per core when not, as Vert.x makes them. */
    @ConfigProperty(name = "quarkus.vertx.event-loops-pool-size")
    Optional<Integer> eventLoops;

    /** How many bodies are read at once, and how many more may wait: as many as there are event loops. */
    public int readers() {
        return eventLoops.filter(n -> n > 0).orElse(2 * Runtime.getRuntime().availableProcessors());
    }

    @PostConstruct
    void start() {
        int n = readers();
        AtomicInteger count = new AtomicInteger();
        threads = new ThreadPoolExecutor(n, n, 60, TimeUnit.SECONDS, new ArrayBlockingQueue<>(n), task -> {
            Thread t = new Thread(task, "sluice-body-reader-" + count.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        threads.allowCoreThreadTimeOut(true);
    }

    /**
     * Whether a REST body of {@code bodyLength} bytes is read here.
     *
     * @param jsonLength its JSON header's length ({@code Inference-Header-Content-Length}), or null when the body is
     *     all JSON
     * @param compressed whether it has a {@code Content-Encoding}: then it is read here when it could inflate past
     *     {@link #LARGE_JSON_BYTES}, since what it inflates to is not known before
     */
    public static boolean large(int bodyLength, Integer jsonLength, boolean compressed) {
        if (compressed) {
            return (long) bodyLength * MOST_INFLATION > LARGE_JSON_BYTES;
        }
        int json = jsonLength == null ? bodyLength : Math.min(jsonLength, bodyLength);
        return json > LARGE_JSON_BYTES || bodyLength > LARGE_BODY_BYTES;
    }

    /** Whether a compressed gRPC message of {@code length} bytes is read here: it could inflate past 1 MiB. */
    public static boolean largeMessage(int length) {
        return (long) length * MOST_INFLATION > LARGE_MESSAGE_BYTES;
    }

    /**
     * The threads large bodies are read on; a full queue refuses a task ({@link
     * java.util.concurrent.RejectedExecutionException}).
     */
    public Executor executor() {
        return threads;
    }

    /**
     * Bodies already waiting are still read; a new one is refused. A REST body read is answered; a gRPC message read
     * once its event loop has closed is not started (Vert.x drops the task), and its connection closes with the
     * server: Quarkus's graceful shutdown, which waits for the requests in flight, comes first.
     */
    @PreDestroy
    void close() {
        threads.shutdown();
    }
}
