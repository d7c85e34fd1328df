package io.sluice.api.rest;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Where the REST adapter reads inference bodies too large to read on an event loop. Reading 64 MB of JSON takes
 * seconds, and an event loop doing it holds up every other connection it serves, health probes included; a
 * compressed body of 100 KB can inflate to that. Such a body is read on one of these threads instead.
 *
 * <p>There are as many as the event loops Vert.x makes by default (two per core), so no more large bodies are
 * read, and held decoded in memory, at once than the event loops could read before; the rest wait their turn in
 * arrival order, their raw bodies already in memory.
 */
@ApplicationScoped
public class LargeBodies {

    /** JSON (the whole body, or a binary request's JSON header) past this is read here: some ms of parsing. */
    static final int LARGE_JSON_BYTES = 256 * 1024;
    /** A binary request past this is read here: its tensors are copied once more as it is read. */
    static final int LARGE_BODY_BYTES = 8 * 1024 * 1024;

    private final ThreadPoolExecutor threads;

    public LargeBodies() {
        int n = 2 * Runtime.getRuntime().availableProcessors();
        AtomicInteger count = new AtomicInteger();
        threads = new ThreadPoolExecutor(n, n, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), task -> {
            Thread t = new Thread(task, "sluice-body-reader-" + count.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        threads.allowCoreThreadTimeOut(true);
    }

    /**
     * Whether a body of {@code bodyLength} bytes is read here.
     *
     * @param jsonLength its JSON header's length ({@code Inference-Header-Content-Length}), or null when the body is
     *     all JSON
     * @param encoding its {@code Content-Encoding}, or null: a compressed body is read here whatever its size, since
     *     what it inflates to is not known before
     */
    static boolean large(int bodyLength, Integer jsonLength, String encoding) {
        if (ContentEncoding.coded(encoding)) {
            return true;
        }
        int json = jsonLength == null ? bodyLength : Math.min(jsonLength, bodyLength);
        return json > LARGE_JSON_BYTES || bodyLength > LARGE_BODY_BYTES;
    }

    /** The threads large bodies are read on. */
    public Executor executor() {
        return threads;
    }

    @PreDestroy
    void close() {
        threads.shutdownNow();
    }
}
