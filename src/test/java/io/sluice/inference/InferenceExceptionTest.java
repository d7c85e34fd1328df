package io.sluice.inference;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.inference.InferenceException.Unavailable;
import io.sluice.inference.InferenceException.Unavailable.Reason;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Which 503s give a rate-limit token back: a model that cannot serve, not a model that is full. */
class InferenceExceptionTest {

    private static boolean refunds(Reason reason) {
        return new Unavailable(reason, "turned away", Duration.ofSeconds(1)).modelCannotServe();
    }

    @Test
    void aModelNotReadyOrBehindAnOpenBreakerCannotServe() {
        assertThat(refunds(Reason.NOT_READY)).isTrue();
        assertThat(refunds(Reason.CIRCUIT_OPEN)).isTrue();
    }

    @Test
    void aFullBulkheadOrQueueIsContentionWhoseAttemptsCount() {
        assertThat(refunds(Reason.BULKHEAD_FULL)).isFalse();
        assertThat(refunds(Reason.QUEUE_FULL)).isFalse();
    }
}
