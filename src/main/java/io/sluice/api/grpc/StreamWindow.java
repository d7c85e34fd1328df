package io.sluice.api.grpc;

import java.util.ArrayDeque;

/**
 * How far one {@code ModelStreamInfer} stream may be read ahead of its answers: fewer requests read and not yet
 * answered than {@code window}, and those requests, with the answers they are expected to bring (each as large
 * as the largest answer the stream has sent, so that a 3 KB MiniLM request counts with its 196 KB answer), fewer
 * bytes than {@code windowBytes}. A request is answered by one message, in order. Shared by the bridge's
 * {@link StreamFlowControl} and {@link ModelStreamRoute}; not thread-safe, its owner keeps it to one thread or locks.
 */
final class StreamWindow {
    private final int window;
    private final long windowBytes;
    /** The sizes of the requests read and not answered, oldest first: answers go in their order. */
    private final ArrayDeque<Integer> held = new ArrayDeque<>();
    private long heldBytes;
    /** The largest answer sent so far (serialized). */
    private long largestAnswer;

    StreamWindow(int window, long windowBytes) {
        check(window, windowBytes);
        this.window = window;
        this.windowBytes = windowBytes;
    }

    /** Refuses windows below 1, naming the settings. */
    static void check(int window, long windowBytes) {
        if (window < 1 || windowBytes < 1) {
            throw new IllegalArgumentException("sluice.grpc.stream-window and stream-window-bytes must be at least 1, not "
                    + window + " and " + windowBytes);
        }
    }

    /** Whether another request may be read. */
    boolean room() {
        return held.size() < window && heldBytes + held.size() * largestAnswer < windowBytes;
    }

    /** A request of {@code size} bytes (serialized) was read. */
    void read(int size) {
        held.add(size);
        heldBytes += size;
    }

    /** The oldest request read was answered with {@code size} bytes (serialized). */
    void answered(long size) {
        Integer request = held.poll();
        if (request != null) {
            heldBytes -= request;
        }
        largestAnswer = Math.max(largestAnswer, size);
    }
}
