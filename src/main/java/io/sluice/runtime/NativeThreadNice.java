package io.sluice.runtime;

import com.oracle.svm.core.annotate.Substitute;
import com.oracle.svm.core.annotate.TargetClass;
import org.graalvm.nativeimage.Platform;
import org.graalvm.nativeimage.Platforms;
import org.graalvm.nativeimage.c.function.CFunction;
import org.graalvm.nativeimage.c.type.CIntPointer;

/**
 * The native executable's {@link ThreadNice#setNice}: libc's {@code setpriority} called directly
 * ({@code @CFunction}), since JNA, which the JVM uses, is not registered for the native image. Only
 * the native-image builder reads this class (a GraalVM substitution); on the JVM nothing refers to it.
 * Linux only, like the call itself.
 */
@TargetClass(ThreadNice.class)
@Platforms(Platform.LINUX.class)
final class NativeThreadNice {

    private NativeThreadNice() {}

    @Substitute
    static int setNice(int nice) {
        // both calls stay in Java's thread state (no transition), so nothing runs between them to change errno
        if (LibC.setpriority(ThreadNice.PRIO_PROCESS, 0, nice) == 0) {
            return 0;
        }
        int errno = LibC.__errno_location().read();
        return errno != 0 ? errno : -1;
    }

    /** The two libc functions, linked into the executable; both return at once, so without a thread-state transition. */
    @Platforms(Platform.LINUX.class)
    static final class LibC {

        private LibC() {}

        @CFunction(transition = CFunction.Transition.NO_TRANSITION)
        static native int setpriority(int which, int who, int prio);

        /** glibc's address of the calling thread's errno. */
        @CFunction(transition = CFunction.Transition.NO_TRANSITION)
        static native CIntPointer __errno_location();
    }
}
