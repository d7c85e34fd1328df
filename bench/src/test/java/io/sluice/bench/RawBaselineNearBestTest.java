package io.sluice.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

class RawBaselineNearBestTest {

    /** A closed-loop run of {@code layout} that answered {@code perSecond} calls a second for 10 s. */
    private static RawBaseline.Run run(String layout, int callers, int intraOp, int rows, double perSecond) {
        long ok = Math.round(perSecond * 10);
        return new RawBaseline.Run(new RawBaseline.Layout(layout, intraOp, callers, rows),
                new LoadResult(new Histogram(3), ok, Map.of(), 10, ok, 0, 0, "", new Histogram(3), ok));
    }

    @Test
    void everyUnbatchedLayoutWithinATenthOfTheBestIsBracketedTheBestFirst() {
        // run 94's fp32 seq 128 at the start: two callers a little under one caller with two threads
        List<RawBaseline.Run> runs = List.of(run("c=1 intra=1", 1, 1, 1, 48.1), run("c=1 intra=2", 1, 2, 1, 72.0),
                run("c=2 intra=1", 2, 1, 1, 70.8), run("c=2 intra=1 rows=4", 2, 1, 4, 30.0));

        assertEquals(List.of("c=1 intra=2", "c=2 intra=1"), RawBaseline.nearBest(runs));
    }

    @Test
    void aClearBestIsBracketedAlone() {
        List<RawBaseline.Run> runs = List.of(run("c=1 intra=1", 1, 1, 1, 107.8), run("c=1 intra=2", 1, 2, 1, 112.3),
                run("c=2 intra=1", 2, 1, 1, 135.2));

        assertEquals(List.of("c=2 intra=1"), RawBaseline.nearBest(runs));
    }

    @Test
    void anOlderSummaryWithoutTheListBracketsItsBestLayout() {
        RawBaseline.Summary older = new RawBaseline.Summary("fp32-s128", "m", null, 72.0, "c=1 intra=2", 13.6, 17.2,
                "c=1 intra=2", 1, 20.7, List.of(), 58.0, "c=2 intra=1 rows=4", null);

        assertEquals(List.of("c=1 intra=2"), older.bracketLayouts());
    }
}
