package io.sluice.bench;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

/** What makes {@code bench load} exit 1: a skipped scenario, a wrong first answer, or a failed request in a window. */
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
        assertFalse(BenchMain.clean(new Report.Row(s, result(Map.of("503", 2L)), List.of(), null)),
                "a request the server turned away");
        assertFalse(BenchMain.clean(new Report.Row(s, result(Map.of()), List.of("SUM values wrong"), null)),
                "a wrong first answer");
        assertFalse(BenchMain.clean(new Report.Row(s, null, List.of(), "no raw baseline")), "a skipped scenario");
    }
}
