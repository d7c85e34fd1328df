package io.sluice.bench;

import java.util.List;

/** The first request of a run, decoded and checked before any load. */
final class Probe {
    private Probe() {
    }

    /**
     * Sends one request (up to {@code attempts} times, {@code pauseMillis} apart, until it succeeds) and
     * checks the answer; returns null when it was a valid answer, else what was wrong.
     */
    static String first(ClientFactory clients, Workload workload, int attempts, long pauseMillis)
            throws InterruptedException {
        List<String> problems = List.of("no attempt");
        for (int i = 0; i < Math.max(1, attempts); i++) {
            if (i > 0) {
                Thread.sleep(pauseMillis);
            }
            try (InferClient probe = clients.create(0)) {
                InferClient.Response first = probe.inferDecoded();
                problems = Validator.check(workload, probe.inputs(), first);
                if (first.status() == Status.OK) {
                    break;
                }
            }
        }
        return problems.isEmpty() ? null : String.join("; ", problems);
    }
}
