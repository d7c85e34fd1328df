package io.sluice.bench;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

/**
 * What makes {@code bench load} exit 1: a skipped scenario, a wrong first answer, or a request in a window that failed
 * (not one turned away, which a shedding model does by design, nor an open loop's send that came too late).
 */
class ExitStatusTest {

    private static LoadResult result(Map<String, Long> failures) {
        Histogram h = new Histogram(3);
        h.recordValue(1_000_000);
        return new LoadResult(h, 1, failures, 1, 1, 0, 0, null, new Histogram(3), 1);
    }

    @Test
    void aScenarioIsCleanOnlyWhenNothingInItsWindowFailed() {
        Scenario s = null; // the row's scenario plays no part in the judgement
        assertTrue(BenchMain.clean(new Report.Row(s, result(Map.of()), List.of(), null)));
        assertFalse(BenchMain.clean(new Report.Row(s, result(Map.of("timeout", 1L)), List.of(), null)),
                "one timed-out request in the window");
        assertFalse(BenchMain.clean(new Report.Row(s, result(Map.of("io-error", 1L)), List.of(), null)),
                "a connection lost");
        assertFalse(BenchMain.clean(new Report.Row(s, result(Map.of("http-500", 1L)), List.of(), null)),
                "a server error");
        assertFalse(BenchMain.clean(new Report.Row(s, result(Map.of("grpc-INTERNAL", 1L)), List.of(), null)),
                "a gRPC server error");
        assertFalse(BenchMain.clean(new Report.Row(s, result(Map.of("http-400", 1L)), List.of(), null)),
                "a request the server could not read");
        assertTrue(BenchMain.clean(new Report.Row(s, result(Map.of("http-503", 2L, "http-429", 1L, "grpc-UNAVAILABLE", 3L,
                "grpc-RESOURCE_EXHAUSTED", 1L, "dropped", 4L)), List.of(), null)),
                "requests turned away by a shedding model, or not sent in time, are the load's shape, not faults");
        assertFalse(BenchMain.clean(new Report.Row(s, result(Map.of()), List.of("SUM values wrong"), null)),
                "a wrong first answer");
        assertFalse(BenchMain.clean(new Report.Row(s, null, List.of(), "no raw baseline")), "a skipped scenario");
    }
}
