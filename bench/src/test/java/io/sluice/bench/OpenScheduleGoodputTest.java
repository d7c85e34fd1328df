package io.sluice.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** A segment's goodput counts the OK answers that came before it ended, not the ones its queue drained into the next. */
class OpenScheduleGoodputTest {

    private static final long MS = 1_000_000;

    @Test
    void anAnswerThatComesAfterItsSegmentEndedIsNotItsGoodput() {
        OpenSchedule.Segment segment = new OpenSchedule.Segment("overload", 10, 1); // 10 due, 100 ms apart
        OpenSchedule.Live live = new OpenSchedule.Live(segment, 0, segment.planned(), 0, 0.25);
        for (int k = 0; k < 10; k++) {
            live.sending();
        }
        live.record(live.bucketOf(0), live.dueOffset(0), Status.OK, 500 * MS, 500 * MS, false, 0); // at 0.5 s
        live.record(live.bucketOf(8), live.dueOffset(8), Status.OK, 150 * MS, 150 * MS, false, 0); // at 0.95 s
        live.record(live.bucketOf(9), live.dueOffset(9), Status.OK, 200 * MS, 200 * MS, false, 0); // at 1.1 s: late
        live.record(live.bucketOf(5), live.dueOffset(5), Status.GRPC_UNAVAILABLE, 1 * MS, 1 * MS, true, 0);

        OpenSchedule.Phase phase = live.snapshot(0.25);
        assertEquals(3, phase.okCount()); // every OK answer keeps its latency
        assertEquals(2, phase.okInWindow());
        assertEquals(2.0, phase.goodput(), 1e-9);
    }
}
