package io.sluice.runtime;

import com.sun.jna.Library;
import com.sun.jna.Native;
import io.sluice.config.ModelSettings;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jboss.logging.Logger;

/**
 * Gives the calling thread a lower CPU priority: a nice value above 0. Model threads run at a
 * higher nice value than the event loops, so that on a node whose cores the models keep busy the
 * event loops get a core first: rejections, health checks and the I/O of admitted requests wait
 * less behind a running batch. The models keep every cycle nobody else wants. A nice value is
 * relative to the other threads in the same cgroup, so under Kubernetes it only orders Sluice's own
 * threads.
 *
 * <p>Linux only, through {@code setpriority(PRIO_PROCESS, 0, nice)} in libc, which on Linux sets
 * the nice value of the calling thread alone; threads the calling thread creates later inherit it.
 * Raising a nice value needs no privilege. On the JVM the call goes through JNA; in a native
 * executable, where JNA is not registered, {@link NativeThreadNice} replaces {@link #setNice} with
 * a direct call into libc. Where it cannot be done (another OS, a refused call), the thread runs at
 * its current priority and a warning says why, once.
 */
public final class ThreadNice {

    private static final Logger LOG = Logger.getLogger(ThreadNice.class);
    /** {@code which} for one process, on Linux one thread (the calling one with {@code who} 0). */
    static final int PRIO_PROCESS = 0;
    private static final AtomicBoolean WARNED = new AtomicBoolean();

    private ThreadNice() {}

    /** libc's {@code setpriority}. */
    interface LibC extends Library {
        int setpriority(int which, int who, int prio);
    }

    private static final class Holder {
        static final LibC LIBC = Native.load("c", LibC.class);
    }

    /** Refuses a nice value outside 0..19 (lowering one below 0 would need privilege). */
    static void check(int nice) {
        if (nice < 0 || nice > ModelSettings.MAX_THREAD_NICE) {
            throw new IllegalArgumentException("nice value must be between 0 and " + ModelSettings.MAX_THREAD_NICE
                    + ", got " + nice);
        }
    }

    /**
     * Sets the calling thread's nice value to {@code nice}; 0 leaves the thread as it is. Returns
     * whether the thread now runs at that value.
     */
    public static boolean apply(int nice) {
        check(nice);
        if (nice == 0) {
            return true;
        }
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux")) {
            // elsewhere PRIO_PROCESS 0 means the whole process
            warnOnce("thread priorities are only set on Linux");
            return false;
        }
        try {
            int errno = setNice(nice);
            if (errno != 0) {
                warnOnce("setpriority failed with errno " + errno);
                return false;
            }
            return true;
        } catch (VirtualMachineError e) {
            throw e;
        } catch (Throwable e) { // JNA missing or unusable
            warnOnce("libc is not reachable through JNA (" + e + ")");
            return false;
        }
    }

    /**
     * {@code setpriority(PRIO_PROCESS, 0, nice)} for the calling thread: 0 when it is done, else the
     * errno it failed with (-1 if none was read). {@link NativeThreadNice} substitutes this method in a
     * native executable, so its signature is held by {@code ThreadNiceTest}.
     */
    static int setNice(int nice) {
        if (Holder.LIBC.setpriority(PRIO_PROCESS, 0, nice) == 0) {
            return 0;
        }
        int errno = Native.getLastError();
        return errno != 0 ? errno : -1;
    }

    private static void warnOnce(String why) {
        if (WARNED.compareAndSet(false, true)) {
            LOG.warnf("model threads keep the default CPU priority: %s", why);
        }
    }
}
