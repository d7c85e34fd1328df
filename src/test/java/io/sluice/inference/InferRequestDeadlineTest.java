package io.sluice.inference;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Deadlines on the {@link System#nanoTime()} scale, and when a cancellation counts as one passing. */
class InferRequestDeadlineTest {

    private static final long MS = 1_000_000L;

    @Test
    void aTimeoutOfZeroOrTooLongIsNoDeadline() {
        assertThat(InferRequest.deadlineAfterMicros(5, 0)).isEqualTo(InferRequest.NO_DEADLINE);
        assertThat(InferRequest.deadlineAfterMicros(5, Long.MAX_VALUE)).isEqualTo(InferRequest.NO_DEADLINE);
        assertThat(InferRequest.deadlineAfterNanos(Long.MAX_VALUE - 1, 2)).isEqualTo(InferRequest.NO_DEADLINE);
        assertThat(InferRequest.deadlineAfterMicros(5, 3)).isEqualTo(3005);
    }

    @Test
    void aCancelInTheLastQuarterOfItsTimeIsAtItsDeadline() {
        long arrived = -7 * MS; // nanoTime may be negative
        long deadline = arrived + 200 * MS;
        assertThat(InferRequest.cancelledAtDeadline(arrived, deadline, deadline + MS)).isTrue();
        assertThat(InferRequest.cancelledAtDeadline(arrived, deadline, deadline - 50 * MS)).as("a quarter left").isTrue();
        assertThat(InferRequest.cancelledAtDeadline(arrived, deadline, deadline - 51 * MS)).isFalse();
        assertThat(InferRequest.cancelledAtDeadline(arrived, InferRequest.NO_DEADLINE, deadline)).isFalse();
    }

    @Test
    void aLongTimeoutAllowsAtMostTheSlack() {
        long arrived = 0;
        long deadline = 10_000 * MS;
        assertThat(InferRequest.cancelledAtDeadline(arrived, deadline, deadline - InferRequest.DEADLINE_SLACK_NANOS)).isTrue();
        assertThat(InferRequest.cancelledAtDeadline(arrived, deadline, deadline - InferRequest.DEADLINE_SLACK_NANOS - 1)).isFalse();
    }
}
