package io.sluice.observability;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The counting behind Triton's statistics extension, with an injected wall clock. */
class VersionStatisticsTest {

    private final AtomicLong millis = new AtomicLong(1_700_000_000_000L);
    private final VersionStatistics stats = new VersionStatistics("m", "3", millis::get);

    @Test
    void aBatchCountsOnceAsARunAndOncePerRequestAsCompute() {
        stats.answered(3, 5, 1_000, 90); // three requests, five rows, one run of 1 µs, 90 ns of waits in all
        stats.answered(1, 1, 400, 10);
        VersionStatistics.Snapshot s = stats.snapshot();
        assertThat(s.executionCount()).isEqualTo(2);
        assertThat(s.inferenceCount()).isEqualTo(6);
        assertThat(s.computeInfer()).isEqualTo(new VersionStatistics.Duration(4, 3 * 1_000 + 400));
        assertThat(s.queue()).isEqualTo(new VersionStatistics.Duration(4, 100));
        assertThat(s.batches()).containsExactly(
                new VersionStatistics.Batch(1, new VersionStatistics.Duration(1, 400)),
                new VersionStatistics.Batch(5, new VersionStatistics.Duration(1, 1_000)));
    }

    @Test
    void batchSizesTheClientsChooseAreKeptApartOnlyUpToACap() {
        // requests past the model's batches run alone at their own sizes: each a new size
        for (int rows = 1; rows <= VersionStatistics.MAX_BATCH_SIZES + 10; rows++) {
            stats.answered(1, rows, 100, 0);
        }
        stats.answered(1, 1, 100, 0); // a size already kept still counts
        VersionStatistics.Snapshot s = stats.snapshot();
        assertThat(s.batches()).hasSize(VersionStatistics.MAX_BATCH_SIZES);
        assertThat(s.batches().get(0)).isEqualTo(new VersionStatistics.Batch(1, new VersionStatistics.Duration(2, 200)));
        assertThat(s.executionCount()).isEqualTo(VersionStatistics.MAX_BATCH_SIZES + 11); // the totals count them all
    }

    @Test
    void answersFailuresCacheHitsAndTheLastInference() {
        assertThat(stats.snapshot().lastInferenceMillis()).isZero();
        stats.succeeded(900, false, true);
        millis.addAndGet(5);
        stats.succeeded(100, true, false);
        stats.failed(50);
        VersionStatistics.Snapshot s = stats.snapshot();
        assertThat(s.name()).isEqualTo("m");
        assertThat(s.version()).isEqualTo("3");
        assertThat(s.success()).isEqualTo(new VersionStatistics.Duration(2, 1_000)); // cache hits included
        assertThat(s.cacheHit()).isEqualTo(new VersionStatistics.Duration(1, 100));
        assertThat(s.cacheMiss()).isEqualTo(new VersionStatistics.Duration(1, 0));
        assertThat(s.fail()).isEqualTo(new VersionStatistics.Duration(1, 50));
        assertThat(s.lastInferenceMillis()).isEqualTo(1_700_000_000_005L);
    }
}
