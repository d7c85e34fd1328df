package io.sluice.api.rest;

import java.util.SplittableRandom;

/**
 * Not a test: how long {@link FloatText} takes per float on this machine, for the README's JSON numbers.
 * One 128-token MiniLM answer's worth of floats (49,152, normally distributed like its hidden states),
 * printed 20 times per pass after warm-up passes. Run after {@code ./mvnw test-compile}:
 * {@code java -cp target/classes:target/test-classes io.sluice.api.rest.FloatTextSpeed}.
 */
public final class FloatTextSpeed {

    private static final int FLOATS = 128 * 384;
    private static final int REPEATS = 20;
    private static final int PASSES = 30;

    private FloatTextSpeed() {}

    public static void main(String[] args) {
        SplittableRandom random = new SplittableRandom(1);
        float[] values = new float[FLOATS];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (gaussian(random) * 0.5);
        }
        byte[] out = new byte[FLOATS * (FloatText.MAX_LENGTH + 1) + FloatText.ROOM];
        long bytes = 0;
        for (int pass = 1; pass <= PASSES; pass++) {
            long start = System.nanoTime();
            for (int r = 0; r < REPEATS; r++) {
                int at = 0;
                for (float v : values) {
                    at = FloatText.write(v, out, at);
                    out[at++] = ',';
                }
                bytes += at;
            }
            long nanos = System.nanoTime() - start;
            if (pass % 5 == 0) { // the early passes are the JIT's
                System.out.printf("pass %d: %.1f ns per float, %.2f ms per answer, %.1f bytes per float%n", pass,
                        nanos / (double) (REPEATS * FLOATS), nanos / 1e6 / REPEATS,
                        bytes / (double) ((long) pass * REPEATS * FLOATS));
            }
        }
    }

    private static double gaussian(SplittableRandom random) { // Box-Muller, one of the pair
        return Math.sqrt(-2 * Math.log(1 - random.nextDouble())) * Math.cos(2 * Math.PI * random.nextDouble());
    }
}
