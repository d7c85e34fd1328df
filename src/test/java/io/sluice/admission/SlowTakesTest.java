package io.sluice.admission;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SlowTakesTest {

    private final SlowTakes takes = new SlowTakes();
    private final long first = takes.generation();

    @Test
    void slowTakesInARowMeanAway() {
        assertThat(takes.slow(first)).isFalse();
        assertThat(takes.slow(first)).isFalse();
        assertThat(takes.slow(first)).isTrue();
    }

    @Test
    void slowTakesBetweenTakesInTimeMeanAwayWhileTheyAreAmongTheLastFew() {
        takes.slow(first);
        takes.inTime(first);
        takes.inTime(first);
        takes.slow(first);
        takes.inTime(first);
        assertThat(takes.slow(first)).as("three of the last five").isTrue();
    }

    @Test
    void slowTakesOutsideTheWindowAreForgotten() {
        takes.slow(first);
        takes.slow(first);
        for (int i = 0; i < SlowTakes.WINDOW - 2; i++) {
            takes.inTime(first);
        }
        assertThat(takes.slow(first)).as("the first slow take is nine back").isFalse();
        assertThat(takes.slow(first)).as("the second is nine back too").isFalse();
        assertThat(takes.slow(first)).isTrue();
    }

    @Test
    void awayStartsANewGenerationWithACleanRecordOnce() {
        takes.slow(first);
        takes.slow(first);
        assertThat(takes.away(first)).isTrue();
        assertThat(takes.away(first)).as("another take found it away too: already done").isFalse();
        long next = takes.generation();
        assertThat(next).isNotEqualTo(first);
        assertThat(takes.slow(next)).isFalse();
        assertThat(takes.slow(next)).isFalse();
        assertThat(takes.slow(next)).isTrue();
    }

    @Test
    void aTakeOfAnEarlierGenerationChangesNothing() {
        takes.away(first);
        long next = takes.generation();
        takes.slow(next);
        takes.slow(next);
        // takes still in flight when Redis was found away come back late
        assertThat(takes.slow(first)).as("its slow take is not marked in the new record").isFalse();
        assertThat(takes.slow(first)).isFalse();
        assertThat(takes.away(first)).isFalse();
        assertThat(takes.generation()).isEqualTo(next);
        takes.inTime(first);
        assertThat(takes.slow(next)).as("the new record kept its two, and this is its third").isTrue();
    }
}
