package io.sluice.api.rest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.sluice.inference.Datatype;
import io.sluice.inference.InferRequest;
import io.sluice.inference.InferResponse;
import io.sluice.inference.InferenceException;
import io.sluice.inference.Protocol;
import io.sluice.inference.Tensor;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** A REST answer the heap cannot hold while it is written: a 503 to retry, with the API's error, not a 500. */
class NoMemoryAnswerTest {

    @Test
    void runningOutOfMemoryWritingTheAnswerIsUnavailableWithRetryAfterNamingTheWayOut() {
        Tensor out = new Tensor("big", Datatype.BOOL, new long[] {3, 5}, ByteBuffer.allocate(15));
        InferResponse response = new InferResponse("m", "1", null, Map.of(), List.of(out));
        RestInferRequests.Parsed parsed = new RestInferRequests.Parsed(new InferRequest("m", null, null, Map.of(),
                List.of(), List.of(), 0, InferRequest.NO_DEADLINE, Protocol.REST), Set.of(), Set.of(), false);

        InferenceException.Unavailable e = catchThrowableOfType(InferenceException.Unavailable.class,
                () -> InferenceResource.answer(response, parsed, (r, p) -> {
                    throw new OutOfMemoryError("Java heap space");
                }));

        assertThat(e).as("the failure the client gets").isNotNull();
        assertThat(e.reason()).isEqualTo(InferenceException.Unavailable.Reason.NO_MEMORY);
        assertThat(e.retryAfter()).isEqualTo(Duration.ofSeconds(1));
        assertThat(e.modelCannotServe()).as("the tenant's token is spent: the model ran").isFalse();
        assertThat(e).hasMessage("the server has no memory to write this answer now (15 elements as JSON text): "
                + "retry, or ask for binary outputs (parameter binary_data_output)");
    }
}
