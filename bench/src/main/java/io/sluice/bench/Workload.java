package io.sluice.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What one request carries and what must come back: a model, its inputs and its expected outputs.
 *
 * <p>Keys: {@code fp32-s<seq>[-b<batch>]} and {@code int8-s<seq>[-b<batch>]} for MiniLM (fp32 or
 * int8 model), {@code tiny-add} for the tiny {@code add} model (A, B FP32 [b,4] to SUM, DIFF) and
 * {@code tiny-identity} for {@code identity_fp32} (INPUT0 FP32 [b,4] to OUTPUT0).
 */
final class Workload {
    enum Kind { MINILM, ADD, IDENTITY }

    static final int MINILM_HIDDEN = 384;
    private static final Pattern MINILM_KEY = Pattern.compile("(fp32|int8)-s(\\d+)(?:-b(\\d+))?");
    private static final Pattern TINY_KEY = Pattern.compile("tiny-(add|identity)(?:-b(\\d+))?");

    final String key;
    final String model;
    final Kind kind;
    final int seq;
    final int batch;

    private Workload(String key, String model, Kind kind, int seq, int batch) {
        this.key = key;
        this.model = model;
        this.kind = kind;
        this.seq = seq;
        this.batch = batch;
    }

    static Workload parse(String key, Settings settings) {
        Matcher m = MINILM_KEY.matcher(key);
        if (m.matches()) {
            String model = m.group(1).equals("fp32") ? settings.fp32Model : settings.int8Model;
            int batch = m.group(3) == null ? 1 : Integer.parseInt(m.group(3));
            return new Workload(key, model, Kind.MINILM, Integer.parseInt(m.group(2)), batch);
        }
        m = TINY_KEY.matcher(key);
        if (m.matches()) {
            int batch = m.group(2) == null ? 1 : Integer.parseInt(m.group(2));
            return m.group(1).equals("add")
                    ? new Workload(key, settings.tinyAddModel, Kind.ADD, 4, batch)
                    : new Workload(key, settings.tinyIdentityModel, Kind.IDENTITY, 4, batch);
        }
        throw new IllegalArgumentException("unknown workload '" + key
                + "' (fp32-s<seq>[-b<n>], int8-s<seq>[-b<n>], tiny-add, tiny-identity)");
    }

    boolean isTiny() {
        return kind != Kind.MINILM;
    }

    /** Sequences (batch rows) per request, for sequences/s. */
    int rows() {
        return batch;
    }

    /** The request inputs, in the order they are sent; {@code seed} makes each worker's data its own. */
    List<Tensor> inputs(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Tensor> inputs = new ArrayList<>();
        switch (kind) {
            case MINILM:
                long[] shape = {batch, seq};
                long[] ids = new long[batch * seq];
                for (int r = 0; r < batch; r++) {
                    for (int i = 0; i < seq; i++) {
                        ids[r * seq + i] = i == 0 ? 101 : i == seq - 1 ? 102 : random.nextInt(1000, 30000);
                    }
                }
                long[] ones = new long[ids.length];
                java.util.Arrays.fill(ones, 1L);
                inputs.add(Tensor.int64("input_ids", shape, ids));
                inputs.add(Tensor.int64("attention_mask", shape, ones));
                inputs.add(Tensor.int64("token_type_ids", shape, new long[ids.length]));
                break;
            case ADD:
                inputs.add(Tensor.fp32("A", new long[] {batch, 4}, randomFloats(random, batch * 4)));
                inputs.add(Tensor.fp32("B", new long[] {batch, 4}, randomFloats(random, batch * 4)));
                break;
            default:
                inputs.add(Tensor.fp32("INPUT0", new long[] {batch, 4}, randomFloats(random, batch * 4)));
        }
        return inputs;
    }

    /** The bytes of every expected output (all FP32): what an OK answer must at least carry. */
    long outputBytes() {
        long bytes = 0;
        for (long[] shape : expectedOutputs().values()) {
            long elements = 1;
            for (long d : shape) {
                elements *= d;
            }
            bytes += 4 * elements;
        }
        return bytes;
    }

    /** Output name to expected shape; every one must come back. */
    Map<String, long[]> expectedOutputs() {
        Map<String, long[]> out = new LinkedHashMap<>();
        switch (kind) {
            case MINILM:
                out.put("last_hidden_state", new long[] {batch, seq, MINILM_HIDDEN});
                break;
            case ADD:
                out.put("SUM", new long[] {batch, 4});
                out.put("DIFF", new long[] {batch, 4});
                break;
            default:
                out.put("OUTPUT0", new long[] {batch, 4});
        }
        return out;
    }

    private static float[] randomFloats(SplittableRandom random, int n) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) (random.nextDouble() * 2 - 1);
        }
        return values;
    }

    @Override
    public String toString() {
        return key + " (" + model + ")";
    }
}
