package io.sluice.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

/** How the recovery after the overload is read from its quarter-second timeline. */
class OverloadRecoveryTest {

    private static final double LIMIT_MS = 43;

    @Test
    void oneSlowRequestLateInTheRunDelaysOnlyTheLatencyFigure() {
        List<OpenSchedule.Bucket> timeline = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            double p99 = i == 35 ? 55.3 : 20;
            timeline.add(new OpenSchedule.Bucket(i * 0.25, 24, 24, 0, 0, p99));
        }
        Overload.Recovery throughput = Overload.recovery(phase(timeline), Double.NaN);
        Overload.Recovery latency = Overload.recovery(phase(timeline), LIMIT_MS);
        assertEquals(0.0, throughput.seconds());
        assertEquals("0.00 s (0 of 40 250-ms buckets below 90% goodput)", throughput.label());
        assertEquals(9.0, latency.seconds());
        assertTrue(latency.label().contains("1 of 40 250-ms buckets below 90% goodput or above"), latency.label());
    }

    @Test
    void aBacklogThatStillRejectsIsNotRecoveredUntilGoodputIsBack() {
        List<OpenSchedule.Bucket> timeline = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            long ok = i < 3 ? 10 : 24; // the first three quarters turn most requests away
            timeline.add(new OpenSchedule.Bucket(i * 0.25, 24, ok, 24 - ok, 0, 20));
        }
        assertEquals(0.75, Overload.recovery(phase(timeline), Double.NaN).seconds());
        assertEquals(0.75, Overload.recovery(phase(timeline), LIMIT_MS).seconds());
    }

    @Test
    void aRunThatEndsBadNeverRecovered() {
        List<OpenSchedule.Bucket> timeline = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            timeline.add(new OpenSchedule.Bucket(i * 0.25, 24, i == 39 ? 0 : 24, i == 39 ? 24 : 0, 0, 20));
        }
        Overload.Recovery r = Overload.recovery(phase(timeline), Double.NaN);
        assertTrue(Double.isNaN(r.seconds()));
        assertTrue(r.label().startsWith("not within 10 s"), r.label());
    }

    @Test
    void answersThatComeLateDoNotCountAsRecovered() {
        // every request answered OK, but for the first second each 200 ms after it was due
        List<OpenSchedule.Bucket> timeline = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            Histogram latencies = new Histogram(3);
            long nanos = i < 4 ? 200_000_000L : 20_000_000L;
            latencies.recordValueWithCount(nanos, 24);
            timeline.add(new OpenSchedule.Bucket(i * 0.25, 24, 24, 0, 0, nanos / 1e6, latencies));
        }
        assertEquals(0.0, Overload.recovery(phase(timeline), Double.NaN).seconds()); // by count alone
        Overload.Recovery inTime = Overload.recovery(phase(timeline), Double.NaN, 2 * LIMIT_MS);
        assertEquals(1.0, inTime.seconds());
        assertTrue(inTime.label().contains("4 of 40 250-ms buckets below 90% goodput answered within 86"), inTime.label());
    }

    private static OpenSchedule.Phase phase(List<OpenSchedule.Bucket> timeline) {
        Histogram empty = new Histogram(3);
        return new OpenSchedule.Phase("recovery", 96, 10, 960, 960, 960, 0, 0, Map.of(), Map.of(), empty, empty,
                empty, Map.of(), 0, 0.25, timeline, 960);
    }
}
