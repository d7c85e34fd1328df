package io.sluice.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.sluice.fixtures.ProcThreads;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Model threads run at their nice value, and threads they start inherit it; the caller's own priority is untouched. */
class RuntimeThreadsTest {

    private static int niceOfThreadFrom(java.util.concurrent.ThreadFactory factory) throws InterruptedException {
        BlockingQueue<Integer> seen = new ArrayBlockingQueue<>(1);
        Thread t = factory.newThread(() -> seen.add(ProcThreads.niceOfCurrentThread()));
        t.start();
        Integer nice = seen.poll(10, TimeUnit.SECONDS);
        t.join();
        assertThat(nice).as("the thread reported its nice value").isNotNull();
        return nice;
    }

    @Test
    void aModelThreadRunsAtItsNiceValueAndTheCallerKeepsItsOwn() throws InterruptedException {
        int callers = ProcThreads.niceOfCurrentThread();
        Thread probe = RuntimeThreads.forModel("m", 7).newThread(() -> {});
        assertThat(probe.getName()).isEqualTo("sluice-run-m-1");
        assertThat(probe.isDaemon()).isTrue();

        assertThat(niceOfThreadFrom(RuntimeThreads.forModel("m", 7))).isEqualTo(7);
        assertThat(ProcThreads.niceOfCurrentThread()).isEqualTo(callers);
        // 0 leaves a thread at the priority it was born with
        assertThat(niceOfThreadFrom(RuntimeThreads.forModel("m", 0))).isEqualTo(callers);
    }

    @Test
    void aSessionIsCreatedOnAThreadAtTheModelsNiceWhoseChildrenInheritIt() throws Exception {
        AtomicInteger childNice = new AtomicInteger(-1);
        String name = RuntimeThreads.callAt("m", 5, () -> {
            // stands for ONNX Runtime's intra-op pool, which a session starts while it is created
            Thread child = new Thread(() -> childNice.set(ProcThreads.niceOfCurrentThread()));
            child.start();
            child.join();
            return Thread.currentThread().getName() + " at " + ProcThreads.niceOfCurrentThread();
        });
        assertThat(name).isEqualTo("sluice-load-m at 5");
        assertThat(childNice).hasValue(5);
    }

    @Test
    void anInterruptedCallerStillWaitsForTheWorkWhoseResourcesItFreesAfterwards() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch finish = new CountDownLatch(1);
        AtomicBoolean workDone = new AtomicBoolean();
        AtomicReference<Object> outcome = new AtomicReference<>();
        AtomicBoolean stillInterrupted = new AtomicBoolean();
        Thread caller = new Thread(() -> {
            try {
                String session = RuntimeThreads.callAt("m", 0, () -> {
                    started.countDown();
                    finish.await();
                    workDone.set(true);
                    return "session";
                });
                outcome.set(session + (workDone.get() ? " after the work" : " before the work"));
                stillInterrupted.set(Thread.currentThread().isInterrupted());
            } catch (Exception e) {
                outcome.set(e);
            }
        });
        caller.start();
        assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
        caller.interrupt();
        // the caller took the interrupt in and went back to waiting, rather than returning
        await().atMost(Duration.ofSeconds(10))
                .until(() -> caller.getState() == Thread.State.WAITING && !caller.isInterrupted());
        assertThat(outcome.get()).isNull();
        finish.countDown();
        caller.join(TimeUnit.SECONDS.toMillis(10));
        assertThat(outcome.get()).isEqualTo("session after the work");
        assertThat(stillInterrupted).as("the interrupt status is kept").isTrue();
    }

    @Test
    void callAtHandsBackTheWorksFailureAsItIs() {
        assertThatThrownBy(() -> RuntimeThreads.callAt("m", 3, () -> {
            throw new IOException("no such model file");
        })).isInstanceOf(IOException.class).hasMessage("no such model file");
    }

    @Test
    void aNiceValueOutsideZeroToNineteenIsRefused() {
        assertThatThrownBy(() -> RuntimeThreads.forModel("m", 20))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("between 0 and 19, got 20");
        assertThatThrownBy(() -> RuntimeThreads.forModel("m", -1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("got -1");
    }
}
