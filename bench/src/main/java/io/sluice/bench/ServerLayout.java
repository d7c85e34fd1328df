package io.sluice.bench;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The server's intra-op threads per model, so the raw baseline can measure single-call latency with the
 * same thread layout the server runs. Given as {@code --server-intra-op model=N,model=N} ({@code run.sh}
 * derives it from {@code SLUICE_MODEL_OPTS}); a model not named runs with {@link #DEFAULT_INTRA_OP}, the
 * server's default on this machine: {@code min(2, cores)} instances sharing the cores (2 instances of intra-op 1 on
 * 2 cores, of intra-op 2 on 4), as {@code io.sluice.config.ModelSettings} computes it for a server started here.
 */
record ServerLayout(Map<String, Integer> intraOp) {
    static final int DEFAULT_INTRA_OP = defaultIntraOp(Runtime.getRuntime().availableProcessors());

    /** The server's default intra-op threads per instance on {@code cores} cores. */
    static int defaultIntraOp(int cores) {
        int instances = Math.min(2, cores);
        return Math.max(1, cores / Math.max(1, instances));
    }
    static final ServerLayout DEFAULT = new ServerLayout(Map.of());

    /** {@code model=N,...}; blank = every model at the default. */
    static ServerLayout parse(String value) {
        Map<String, Integer> out = new LinkedHashMap<>();
        for (String item : value.split(",")) {
            if (item.isBlank()) {
                continue;
            }
            int eq = item.lastIndexOf('=');
            int n = eq > 0 ? parsePositive(item.substring(eq + 1).trim()) : -1;
            if (n < 1) {
                throw new IllegalArgumentException("bad --server-intra-op item '" + item + "': want model=N, N >= 1");
            }
            out.put(item.substring(0, eq).trim(), n);
        }
        return new ServerLayout(Map.copyOf(out));
    }

    int intraOp(String model) {
        return intraOp.getOrDefault(model, DEFAULT_INTRA_OP);
    }

    @Override
    public String toString() {
        return intraOp.isEmpty() ? "all models " + DEFAULT_INTRA_OP
                : intraOp.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                        .collect(Collectors.joining(",")) + ", others " + DEFAULT_INTRA_OP;
    }

    private static int parsePositive(String s) {
        return s.matches("\\d{1,4}") ? Integer.parseInt(s) : -1;
    }
}
