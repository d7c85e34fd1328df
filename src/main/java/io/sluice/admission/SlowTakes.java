package io.sluice.admission;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Which of the last {@link #WINDOW} takes from Redis came back past the wait: {@link #SLOW} of them mean Redis is
 * away, not slow once. A Redis that misses the wait now and then (an overloaded one) is found away as surely as
 * one that stops answering; takes in a row are only one way of getting there. Safe for concurrent takes.
 *
 * <p>Each time Redis is found away a new generation starts with a clean record. A take tells its outcome with the
 * generation it started in, and one from an earlier generation (still in flight when Redis was found away) changes
 * nothing: it would mark the next try's clean record with a stale slow take, or find Redis away a second time.
 * The generation and the record share one atomic word, so a take's check and its mark are one step.
 */
final class SlowTakes {

    /** The takes looked back over. */
    static final int WINDOW = 8;
    /** Slow takes among them that mean Redis is away. */
    static final int SLOW = 3;

    private static final long MASK = (1L << WINDOW) - 1;

    /** Bits 0 to WINDOW - 1: whether the take i + 1 back was slow; the bits above: the generation. */
    private final AtomicLong state = new AtomicLong();

    /** The generation now, for a take that starts now to tell its outcome with. */
    long generation() {
        return state.get() >>> WINDOW;
    }

    /** A take of {@code generation} that Redis answered within the wait. */
    void inTime(long generation) {
        long now = state.get();
        if ((now & MASK) != 0) { // a Redis that keeps up leaves the record at zero: no write on the common path
            record(generation, 0);
        }
    }

    /**
     * A take of {@code generation} past the wait.
     *
     * @return whether it makes {@link #SLOW} of the last {@link #WINDOW} of its generation: Redis is away (then
     *     {@link #away} starts the next generation)
     */
    boolean slow(long generation) {
        long after = record(generation, 1);
        return after >= 0 && Long.bitCount(after & MASK) >= SLOW;
    }

    /**
     * Redis is away, as a take of {@code generation} found: the next generation starts, with a clean record.
     *
     * @return whether this call started it; false when the generation had already moved on (another take found
     *     Redis away first)
     */
    boolean away(long generation) {
        long now;
        do {
            now = state.get();
            if (now >>> WINDOW != generation) {
                return false;
            }
        } while (!state.compareAndSet(now, (generation + 1) << WINDOW));
        return true;
    }

    /** Marks the take in the record of {@code generation}; the record after it, or -1 if that generation is over. */
    private long record(long generation, long slow) {
        long before;
        long after;
        do {
            before = state.get();
            if (before >>> WINDOW != generation) {
                return -1;
            }
            after = (before & ~MASK) | ((before << 1 | slow) & MASK);
        } while (!state.compareAndSet(before, after));
        return after;
    }
}
