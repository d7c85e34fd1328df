package io.sluice.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Checks one decoded answer: status 200, every expected output present with the right shape and byte
 * size, values finite; for the tiny models also the values themselves (SUM = A+B, DIFF = A-B, OUTPUT0 =
 * INPUT0).
 */
final class Validator {
    private Validator() {
    }

    /** Problems found; empty when the answer is right. */
    static List<String> check(Workload workload, List<Tensor> inputs, InferClient.Response response) {
        List<String> problems = new ArrayList<>();
        if (response.status() != Status.OK || response.error() != null) {
            problems.add(Status.name(response.status()) + (response.error() == null ? "" : ": " + oneLine(response.error())));
            return problems;
        }
        for (Map.Entry<String, long[]> expected : workload.expectedOutputs().entrySet()) {
            Tensor out = response.outputs().stream().filter(t -> t.name().equals(expected.getKey()))
                    .findFirst().orElse(null);
            if (out == null) {
                problems.add("output " + expected.getKey() + " missing (got "
                        + response.outputs().stream().map(Tensor::name).toList() + ")");
                continue;
            }
            long elements = Tensor.elements(expected.getValue());
            if (!Arrays.equals(out.shape(), expected.getValue())) {
                problems.add(out.name() + " shape " + Arrays.toString(out.shape()) + ", want "
                        + Arrays.toString(expected.getValue()));
            }
            if (!out.datatype().equals("FP32")) {
                problems.add(out.name() + " datatype " + out.datatype() + ", want FP32");
                continue;
            }
            if (out.raw().length != elements * 4) {
                problems.add(out.name() + " has " + out.raw().length + " bytes, want " + elements * 4);
                continue;
            }
            float[] values = out.floats();
            for (float v : values) {
                if (!Float.isFinite(v)) {
                    problems.add(out.name() + " has a non-finite value");
                    break;
                }
            }
            float[] want = expectedValues(workload, inputs, out.name());
            if (want != null && !close(values, want)) {
                problems.add(out.name() + " values " + Arrays.toString(Arrays.copyOf(values, 4)) + "..., want "
                        + Arrays.toString(Arrays.copyOf(want, 4)) + "...");
            }
        }
        return problems;
    }

    /** Error text on one line, at most 240 characters. */
    static String oneLine(String text) {
        String s = text.replaceAll("\\s+", " ").trim();
        return s.length() > 240 ? s.substring(0, 237) + "..." : s;
    }

    private static float[] expectedValues(Workload workload, List<Tensor> inputs, String output) {
        switch (workload.kind) {
            case ADD: {
                float[] a = inputs.get(0).floats();
                float[] b = inputs.get(1).floats();
                float[] r = new float[a.length];
                for (int i = 0; i < r.length; i++) {
                    r[i] = output.equals("SUM") ? a[i] + b[i] : a[i] - b[i];
                }
                return r;
            }
            case IDENTITY:
                return inputs.get(0).floats();
            default:
                return null;
        }
    }

    private static boolean close(float[] got, float[] want) {
        for (int i = 0; i < want.length; i++) {
            if (Math.abs(got[i] - want[i]) > 1e-5f) {
                return false;
            }
        }
        return true;
    }
}
