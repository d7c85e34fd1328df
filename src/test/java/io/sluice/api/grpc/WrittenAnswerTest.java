package io.sluice.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.inference.InferenceException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A gRPC answer built in the step the request is counted after: its failures are the request's answer. */
class WrittenAnswerTest {

    @Test
    void noMemoryToBuildTheAnswerIsUnavailableToRetry() {
        assertThat(GrpcInferenceService.written(() -> {
            throw new OutOfMemoryError("Java heap space");
        }).subscribeAsCompletionStage()).failsWithin(Duration.ofSeconds(5)).withThrowableThat().havingCause()
                .isInstanceOfSatisfying(InferenceException.Unavailable.class, u -> {
                    assertThat(u.reason()).isEqualTo(InferenceException.Unavailable.Reason.NO_MEMORY);
                    assertThat(u.retryAfter()).isEqualTo(Duration.ofSeconds(1));
                    assertThat(u).hasMessage("the server has no memory to write this answer now: retry");
                });
    }

    @Test
    void anotherFailureBuildingTheAnswerIsPassedOnAsItIs() {
        assertThat(GrpcInferenceService.written(() -> {
            throw new IllegalArgumentException("the response message would be 2147483648 bytes");
        }).subscribeAsCompletionStage()).failsWithin(Duration.ofSeconds(5)).withThrowableThat().havingCause()
                .isInstanceOf(IllegalArgumentException.class).withMessageContaining("2147483648 bytes");
        assertThat(GrpcInferenceService.written(() -> "answer").await().atMost(Duration.ofSeconds(5)))
                .isEqualTo("answer");
    }
}
