package io.sluice.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.oracle.svm.core.annotate.Substitute;
import com.oracle.svm.core.annotate.TargetClass;
import io.sluice.fixtures.ProcThreads;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@link ThreadNice} on the JVM sets the calling thread's nice value alone, as Linux reports it in
 * {@code /proc}; and {@link NativeThreadNice}, which no JVM test can run, still names a method that
 * {@link ThreadNice} has, so a native build would substitute it rather than fail or call JNA.
 */
class ThreadNiceTest {

    @Test
    void applySetsTheCallingThreadsNiceValueOnly() throws Exception {
        int before = ProcThreads.niceOfCurrentThread();
        CompletableFuture<int[]> result = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            boolean done = ThreadNice.apply(7);
            result.complete(new int[] {done ? 1 : 0, ProcThreads.niceOfCurrentThread()});
        }, "nice-test");
        t.start();
        int[] seen = result.get(30, TimeUnit.SECONDS);
        assertThat(seen[0]).as("applied").isEqualTo(1);
        assertThat(seen[1]).as("the thread's nice value").isEqualTo(7);
        assertThat(ProcThreads.niceOfCurrentThread()).as("the caller's own").isEqualTo(before);
    }

    @Test
    void setNiceAnswersZeroWhenDone() throws Exception {
        CompletableFuture<int[]> result = new CompletableFuture<>();
        new Thread(() -> result.complete(new int[] {ThreadNice.setNice(4), ProcThreads.niceOfCurrentThread()})).start();
        assertThat(result.get(30, TimeUnit.SECONDS)).containsExactly(0, 4);
    }

    @Test
    void aNiceValueOutsideZeroToNineteenIsRefused() {
        assertThatThrownBy(() -> ThreadNice.apply(-1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ThreadNice.apply(20)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theNativeSubstitutionMatchesAMethodOfThreadNice() {
        TargetClass target = NativeThreadNice.class.getAnnotation(TargetClass.class);
        assertThat(target).isNotNull();
        assertThat(target.value()).isEqualTo(ThreadNice.class);
        // the builder refuses a substitution class that is not final or extends anything but Object
        assertThat(Modifier.isFinal(NativeThreadNice.class.getModifiers())).isTrue();
        assertThat(NativeThreadNice.class.getSuperclass()).isEqualTo(Object.class);
        List<Method> substitutes = Arrays.stream(NativeThreadNice.class.getDeclaredMethods())
                .filter(m -> m.isAnnotationPresent(Substitute.class)).toList();
        assertThat(substitutes).extracting(Method::getName).containsExactly("setNice");
        for (Method substitute : substitutes) {
            Method original = Arrays.stream(ThreadNice.class.getDeclaredMethods())
                    .filter(m -> m.getName().equals(substitute.getName())
                            && Arrays.equals(m.getParameterTypes(), substitute.getParameterTypes()))
                    .findFirst().orElseThrow(() -> new AssertionError("ThreadNice has no " + substitute));
            assertThat(original.getReturnType()).isEqualTo(substitute.getReturnType());
            assertThat(Modifier.isStatic(original.getModifiers())).isEqualTo(Modifier.isStatic(substitute.getModifiers()));
        }
    }
}
