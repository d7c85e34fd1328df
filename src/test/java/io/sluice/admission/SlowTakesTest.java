package io.sluice.admission;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SlowTakesTest {

    private final SlowTakes takes = new SlowTakes();

    @Test
    void slowTakesInARowMeanAway() {
        assertThat(takes.slow()).isFalse();
        assertThat(takes.slow()).isFalse();
        assertThat(takes.slow()).isTrue();
    }

    @Test
    void slowTakesBetweenTakesInTimeMeanAwayWhileTheyAreAmongTheLastFew() {
        takes.slow();
        takes.inTime();
        takes.inTime();
        takes.slow();
        takes.inTime();
        assertThat(takes.slow()).as("three of the last five").isTrue();
    }

    @Test
    void slowTakesOutsideTheWindowAreForgotten() {
        takes.slow();
        takes.slow();
        for (int i = 0; i < SlowTakes.WINDOW - 2; i++) {
            takes.inTime();
        }
        assertThat(takes.slow()).as("the first slow take is nine back").isFalse();
        assertThat(takes.slow()).as("the second is nine back too").isFalse();
        assertThat(takes.slow()).isTrue();
    }

    @Test
    void clearedTakesStartAnew() {
        takes.slow();
        takes.slow();
        takes.clear();
        assertThat(takes.slow()).isFalse();
        assertThat(takes.slow()).isFalse();
        assertThat(takes.slow()).isTrue();
    }
}
