package io.sluice.api.rest;

import java.util.Arrays;

/**
 * Checks that nested JSON {@code data} is rectangular, as a NumPy array is: every array at one depth holds
 * the same number of elements, and all of them arrays or all of them values. Flat data and any rectangular
 * nesting are accepted (the element count is checked against the shape elsewhere); ragged data such as
 * {@code [[1,2],[3]]} or {@code [[1,2],3]} is not, even when its count happens to match.
 *
 * <p>Fed the tokens in order: {@link #open()} for each {@code [}, {@link #value()} for each element that is not
 * an array, {@link #close()} for each {@code ]}. Each call returns null, or the problem found in words that
 * name where it is ({@code data[1] has 1 element, but data[0] has 2}).
 */
final class Rectangular {
    private static final byte UNKNOWN = 0;
    private static final byte ARRAYS = 1;
    private static final byte VALUES = 2;

    /** Per open array (index = its depth, the outermost 0): how many elements it has had so far. */
    private long[] counts = new long[8];
    /** Per depth: the length of the first array closed there, or -1. */
    private long[] lengths = filled(8);
    /** Per depth: what the arrays there hold. */
    private byte[] holds = new byte[8];
    /** Per depth: where the array that fixed its length stands, and the one that fixed what it holds, for the message. */
    private String[] firstLengths = new String[8];
    private String[] firstHolds = new String[8];
    private int depth;

    private static long[] filled(int n) {
        long[] a = new long[n];
        Arrays.fill(a, -1);
        return a;
    }

    String open() {
        String problem = depth == 0 ? null : element(ARRAYS);
        if (depth == counts.length) {
            int n = 2 * depth;
            counts = Arrays.copyOf(counts, n);
            holds = Arrays.copyOf(holds, n);
            firstLengths = Arrays.copyOf(firstLengths, n);
            firstHolds = Arrays.copyOf(firstHolds, n);
            long[] more = filled(n);
            System.arraycopy(lengths, 0, more, 0, depth);
            lengths = more;
        }
        counts[depth++] = 0;
        return problem;
    }

    String value() {
        return depth == 0 ? null : element(VALUES);
    }

    String close() {
        int at = --depth;
        long n = counts[at];
        if (lengths[at] < 0) {
            lengths[at] = n;
            firstLengths[at] = path(at);
            return null;
        }
        if (lengths[at] == n) {
            return null;
        }
        return "has ragged data: " + path(at) + " has " + elements(n) + ", but " + firstLengths[at] + " has "
                + elements(lengths[at]);
    }

    /** Counts one element of the innermost open array and checks it is of the kind its depth holds. */
    private String element(byte kind) {
        int at = depth - 1;
        counts[at]++;
        if (holds[at] == UNKNOWN) {
            holds[at] = kind;
            firstHolds[at] = path(at);
            return null;
        }
        if (holds[at] == kind) {
            return null;
        }
        String here = path(at);
        return "has ragged data: " + (here.equals(firstHolds[at]) ? here + " mixes arrays and values"
                : here + " holds " + (kind == ARRAYS ? "an array" : "a value") + ", but " + firstHolds[at] + " holds "
                        + (kind == ARRAYS ? "values" : "arrays"));
    }

    /** Where the open array at depth {@code at} stands: {@code data}, {@code data[2]}, {@code data[2][0]}. */
    private String path(int at) {
        StringBuilder s = new StringBuilder("data");
        for (int i = 0; i < at; i++) {
            s.append('[').append(counts[i] - 1).append(']');
        }
        return s.toString();
    }

    private static String elements(long n) {
        return n + (n == 1 ? " element" : " elements");
    }
}
