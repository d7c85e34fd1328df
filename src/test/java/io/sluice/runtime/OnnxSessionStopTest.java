package io.sluice.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.sluice.fixtures.TinyModels;
import io.sluice.inference.Datatype;
import io.sluice.inference.InferenceException;
import io.sluice.inference.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Stopping a session's runs, as a shutdown does when a batch outlasts its drain: the run in progress
 * ends with a 503 instead of running on, later runs fail at once, and the session can then be closed
 * (never under a run: freeing it then crashes the process).
 */
class OnnxSessionStopTest {

    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();
    private static final int ROWS = 512;

    @Test
    void aRunInProgressEndsWith503AndLaterRunsFailAtOnce() throws Exception {
        // 20,000 chained 256x256 MatMuls over 512 rows: seconds of work if nothing stopped it
        OnnxSession session = open(TinyModels.slow(20_000));
        AtomicReference<Thread> runner = new AtomicReference<>();
        CompletableFuture<List<Tensor>> run = CompletableFuture.supplyAsync(() -> {
            runner.set(Thread.currentThread());
            return session.run(List.of(rows(ROWS)), List.of());
        });
        try {
            await().atMost(Duration.ofSeconds(30)).until(() -> insideOrtRun(runner.get()));

            session.stopRuns();

            assertThatThrownBy(() -> run.get(60, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class)
                    .cause()
                    .isInstanceOf(InferenceException.Unavailable.class)
                    .hasMessageContaining("shutting down");
            assertThatThrownBy(() -> session.run(List.of(rows(1)), List.of()))
                    .isInstanceOf(InferenceException.Unavailable.class);
        } finally {
            if (run.isDone()) { // never free a session under a run: the process would crash
                session.close();
            }
        }
    }

    @Test
    void aRunStoppedOnItsThreadEndsAloneAndThatThreadsNextRunGoesOn() throws Exception {
        OnnxSession session = open(TinyModels.slow(20_000));
        ExecutorService first = Executors.newSingleThreadExecutor();
        ExecutorService second = Executors.newSingleThreadExecutor();
        AtomicReference<Thread> stoppedThread = new AtomicReference<>();
        AtomicReference<Thread> otherThread = new AtomicReference<>();
        CompletableFuture<List<Tensor>> stopped = CompletableFuture.supplyAsync(() -> {
            stoppedThread.set(Thread.currentThread());
            return session.run(List.of(rows(ROWS)), List.of());
        }, first);
        Tensor few = rows(16); // a second or two of work
        CompletableFuture<List<Tensor>> other = new CompletableFuture<>();
        try {
            await().atMost(Duration.ofSeconds(30)).until(() -> insideOrtRun(stoppedThread.get()));
            other = CompletableFuture.supplyAsync(() -> {
                otherThread.set(Thread.currentThread());
                return session.run(List.of(few), List.of());
            }, second);
            await().atMost(Duration.ofSeconds(30)).until(() -> insideOrtRun(otherThread.get()));

            session.stopRunOn(stoppedThread.get());

            assertThatThrownBy(() -> stopped.get(60, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class)
                    .cause()
                    .isInstanceOf(InferenceException.RuntimeFailure.class); // not the shutdown's 503
            assertThat(other.get(60, TimeUnit.SECONDS)).singleElement()
                    .satisfies(y -> assertThat(y.data()).isEqualTo(few.data().rewind()));
            // the stop was for that run: the thread's next run goes on to its end
            Tensor two = rows(2);
            assertThat(CompletableFuture.supplyAsync(() -> session.run(List.of(two), List.of()), first)
                    .get(60, TimeUnit.SECONDS)).singleElement()
                    .satisfies(y -> assertThat(y.data()).isEqualTo(two.data().rewind()));
            assertThat(session.stopped()).isFalse();
        } finally {
            first.shutdown();
            second.shutdown();
            if (!first.awaitTermination(60, TimeUnit.SECONDS) || !second.awaitTermination(60, TimeUnit.SECONDS)) {
                session.stopRuns(); // never free a session under a run: the process would crash
            } else {
                session.close();
            }
        }
    }

    @Test
    void aStopThatComesBeforeTheRunEndsItAtOnceAndOnlyIt() throws Exception {
        OnnxSession session = open(TinyModels.slow(4));
        ExecutorService thread = Executors.newSingleThreadExecutor();
        try {
            Thread runner = thread.submit(Thread::currentThread).get(10, TimeUnit.SECONDS);
            session.stopRunOn(runner); // before that thread has ever run the session: its first run is the one stopped
            Tensor in = rows(2);
            assertThatThrownBy(() -> thread.submit(() -> session.run(List.of(in), List.of())).get(60, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class)
                    .cause()
                    .isInstanceOf(InferenceException.RuntimeFailure.class);
            assertThat(thread.submit(() -> session.run(List.of(in), List.of())).get(60, TimeUnit.SECONDS))
                    .singleElement().satisfies(y -> assertThat(y.data()).isEqualTo(in.data().rewind()));
            assertThat(session.run(List.of(in), List.of())).hasSize(1); // another thread's runs were never stopped
        } finally {
            thread.shutdown();
            assertThat(thread.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
            session.close();
        }
    }

    @Test
    void anUnstoppedSessionRunsToTheEnd() throws Exception {
        OnnxSession session = open(TinyModels.slow(4));
        try {
            Tensor in = rows(2);
            List<Tensor> out = session.run(List.of(in), List.of());
            assertThat(out).singleElement().satisfies(y -> {
                assertThat(y.name()).isEqualTo("Y");
                assertThat(y.shape()).containsExactly(2, TinyModels.SLOW_WIDTH);
                assertThat(y.data()).isEqualTo(in.data().rewind());
            });
        } finally {
            session.close();
        }
    }

    private static OnnxSession open(byte[] model) throws OrtException {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            OrtSession ort = ENV.createSession(model, options);
            return new OnnxSession(ort, ort, ENV, "cpu");
        }
    }

    private static boolean insideOrtRun(Thread thread) {
        return thread != null && Arrays.stream(thread.getStackTrace())
                .anyMatch(f -> f.isNativeMethod() && f.getClassName().equals(OrtSession.class.getName()));
    }

    /** {@code n} rows of the slow model's input, row r holding r + column / 256. */
    private static Tensor rows(int n) {
        int width = TinyModels.SLOW_WIDTH;
        ByteBuffer data = ByteBuffer.allocate(n * width * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < width; c++) {
                data.putFloat(r + c / (float) width);
            }
        }
        return new Tensor("X", Datatype.FP32, new long[] {n, width}, data.flip());
    }
}
