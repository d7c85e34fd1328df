package io.sluice.bench;

/**
 * One measured run: a workload over one protocol under one load shape.
 *
 * <p>Spec syntax {@code <workload>:<protocol>:<load>} where load is {@code c<N>} (closed loop, N
 * workers), {@code r<rate>} (open loop at rate requests/s) or {@code o<pct>} (open loop at pct% of
 * the raw baseline's best throughput for the same workload). The name is the spec with dashes.
 */
record Scenario(String name, Workload workload, Protocol protocol, Mode mode, int concurrency, double rate,
        double percentOfRaw) {

    enum Mode { CLOSED, OPEN }

    static Scenario parse(String spec, Settings settings) {
        String[] parts = spec.trim().split(":");
        if (parts.length != 3 || parts[2].length() < 2) {
            throw new IllegalArgumentException("bad scenario spec '" + spec
                    + "': want <workload>:<protocol>:<c N | r rate | o pct>");
        }
        Workload workload = Workload.parse(parts[0], settings);
        Protocol protocol = Protocol.parse(parts[1]);
        String load = parts[2];
        double n = Double.parseDouble(load.substring(1));
        String name = parts[0] + "-" + parts[1] + "-" + load;
        switch (load.charAt(0)) {
            case 'c':
                return new Scenario(name, workload, protocol, Mode.CLOSED, (int) n, 0, 0);
            case 'r':
                return new Scenario(name, workload, protocol, Mode.OPEN, 0, n, 0);
            case 'o':
                return new Scenario(name, workload, protocol, Mode.OPEN, 0, 0, n);
            default:
                throw new IllegalArgumentException("bad load '" + load + "' in '" + spec + "'");
        }
    }

    /** Same scenario with the open-loop rate fixed (from {@code percentOfRaw} and the raw throughput). */
    Scenario withRate(double requestsPerSecond) {
        return new Scenario(name, workload, protocol, mode, concurrency, requestsPerSecond, percentOfRaw);
    }

    boolean needsRawRate() {
        return mode == Mode.OPEN && rate <= 0;
    }

    /** A latency scenario compares p50 with the raw single-call p50; the others compare throughput. */
    boolean isLatencyScenario() {
        return mode == Mode.OPEN || concurrency == 1;
    }

    String modeLabel() {
        if (mode == Mode.CLOSED) {
            return "closed c=" + concurrency;
        }
        String r = rate > 0 ? String.format("%.1f", rate) : "?";
        return percentOfRaw > 0 ? "open r=" + r + " (" + (int) percentOfRaw + "% raw)" : "open r=" + r;
    }
}
