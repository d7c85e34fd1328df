package io.sluice.admission;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Which of the last {@link #WINDOW} takes from Redis came back past the wait: {@link #SLOW} of them mean Redis is
 * away, not slow once. A Redis that misses the wait now and then (an overloaded one) is found away as surely as
 * one that stops answering; takes in a row are only one way of getting there. Safe for concurrent takes.
 */
final class SlowTakes {

    /** The takes looked back over. */
    static final int WINDOW = 8;
    /** Slow takes among them that mean Redis is away. */
    static final int SLOW = 3;

    private static final long MASK = (1L << WINDOW) - 1;

    /** Bit i: whether the take i + 1 back was slow. */
    private final AtomicLong history = new AtomicLong();

    /** A take Redis answered within the wait. */
    void inTime() {
        if (history.get() != 0) { // a Redis that keeps up leaves this at zero: no write on the common path
            record(0);
        }
    }

    /**
     * A take past the wait.
     *
     * @return whether it makes {@link #SLOW} of the last {@link #WINDOW}: Redis is away
     */
    boolean slow() {
        return Long.bitCount(record(1)) >= SLOW;
    }

    /** Forgets the takes so far: Redis is away, and when it is tried again it starts with a clean record. */
    void clear() {
        history.set(0);
    }

    private long record(long slow) {
        long before;
        long after;
        do {
            before = history.get();
            after = (before << 1 | slow) & MASK;
        } while (!history.compareAndSet(before, after));
        return after;
    }
}
