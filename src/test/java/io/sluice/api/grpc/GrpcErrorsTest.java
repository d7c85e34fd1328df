package io.sluice.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.rpc.RetryInfo;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.protobuf.StatusProto;
import io.sluice.inference.InferenceException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The status a rejection becomes, read back the way a grpc-java client reads it. */
class GrpcErrorsTest {

    @Test
    void aFullModelIsUnavailableWithItsRetryDelayAndNoStackTrace() throws Exception {
        StatusException e = GrpcErrors.toStatus(new InferenceException.Unavailable(
                InferenceException.Unavailable.Reason.BULKHEAD_FULL, "model 'm' is at capacity (3 requests admitted)",
                Duration.ofMillis(1500)));

        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(e.getStatus().getDescription()).isEqualTo("model 'm' is at capacity (3 requests admitted)");
        assertThat(e.getStackTrace()).isEmpty();
        com.google.rpc.Status details = StatusProto.fromStatusAndTrailers(e.getStatus(), e.getTrailers());
        assertThat(details.getCode()).isEqualTo(Status.Code.UNAVAILABLE.value());
        assertThat(details.getMessage()).isEqualTo(e.getStatus().getDescription());
        assertThat(details.getDetailsCount()).isEqualTo(1);
        RetryInfo retry = details.getDetails(0).unpack(RetryInfo.class);
        assertThat(retry.getRetryDelay().getSeconds()).isEqualTo(1);
        assertThat(retry.getRetryDelay().getNanos()).isEqualTo(500_000_000);
        // and gRPC's own hint, which a channel's retry policy obeys
        assertThat(e.getTrailers().get(GrpcErrors.RETRY_PUSHBACK)).isEqualTo("1500");
        assertThat(GrpcErrors.pushbackMillis(Duration.ofNanos(1))).isEqualTo(1);
        assertThat(GrpcErrors.pushbackMillis(Duration.ofMillis(2001).plusNanos(1))).isEqualTo(2002);
        // a wait of centuries (a rate of 1e-12/s) is not wrapped into none by the rounding
        assertThat(GrpcErrors.pushbackMillis(Duration.ofNanos(Long.MAX_VALUE))).isEqualTo(Long.MAX_VALUE / 1_000_000 + 1);
        assertThat(GrpcErrors.pushbackMillis(Duration.ofSeconds(Long.MAX_VALUE / 1000))).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void aRateLimitsRetryInfoIsWholeMillisecondsRoundedUpAsThePushbackIs() throws Exception {
        // 3 tokens/s: a third of a second; Redis's buckets refill by the millisecond
        StatusException e = GrpcErrors.toStatus(new InferenceException.RateLimited("tenant 't' is over its rate limit",
                new io.sluice.inference.RateLimitState("t", 3, 3, 1, 0, Duration.ofNanos(333_333_334))));
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        RetryInfo retry = StatusProto.fromStatusAndTrailers(e.getStatus(), e.getTrailers()).getDetails(0)
                .unpack(RetryInfo.class);
        assertThat(retry.getRetryDelay().getSeconds()).isZero();
        assertThat(retry.getRetryDelay().getNanos()).isEqualTo(334_000_000);
        assertThat(e.getTrailers().get(GrpcErrors.RETRY_PUSHBACK)).isEqualTo("334");
    }

    @Test
    void aStreamsMessageQuotesItsWaitRoundedUp() {
        // 3 tokens/s: a third of a second, which rounded down would bring the client back to a bucket still short
        var limited = new InferenceException.RateLimited("tenant 't' is over its rate limit",
                new io.sluice.inference.RateLimitState("t", 3, 3, 1, 0, Duration.ofNanos(333_333_334)));
        assertThat(StreamInfer.message(limited)).endsWith("(retry after 334 ms)");
        var full = new InferenceException.Unavailable(InferenceException.Unavailable.Reason.BULKHEAD_FULL,
                "model 'm' is at capacity", Duration.ofMillis(1500));
        assertThat(StreamInfer.message(full)).isEqualTo("model 'm' is at capacity (retry after 1500 ms)");
    }

    @Test
    void aBadRequestCarriesNoRetryInfo() {
        StatusException e = GrpcErrors.toStatus(new InferenceException.InvalidInput("input 'x': bad shape"));

        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        com.google.rpc.Status details = StatusProto.fromStatusAndTrailers(e.getStatus(), e.getTrailers());
        assertThat(details.getMessage()).isEqualTo("input 'x': bad shape");
        assertThat(details.getDetailsList()).isEmpty();
        assertThat(e.getTrailers().get(GrpcErrors.RETRY_PUSHBACK)).isNull();
    }

    @Test
    void aMessageQuotingALongClientStringIsCutToFitAClientsHeaders() {
        String name = "m".repeat(10_000);
        StatusException e = GrpcErrors.toStatus(new InferenceException.ModelNotFound("unknown model '" + name + "'"));

        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(e.getStatus().getDescription()).hasSize(GrpcErrors.MAX_MESSAGE_BYTES - 2).startsWith("unknown model 'mmm")
                .endsWith("m\u2026");
        com.google.rpc.Status details = StatusProto.fromStatusAndTrailers(e.getStatus(), e.getTrailers());
        assertThat(details.getMessage()).isEqualTo(e.getStatus().getDescription());
        // a cut never splits a surrogate pair
        String emoji = "x".repeat(GrpcErrors.MAX_MESSAGE_BYTES - 5) + "\uD83D\uDE00".repeat(10);
        assertThat(GrpcErrors.bounded(emoji)).endsWith("x\u2026").hasSize(GrpcErrors.MAX_MESSAGE_BYTES - 4);
        // bytes, not characters: 1,100 two-byte letters would percent-encode to 6.6 KB, past a client's headers
        String accents = GrpcErrors.bounded("unknown model '" + "\u00e9".repeat(1100) + "'");
        assertThat(accents.getBytes(java.nio.charset.StandardCharsets.UTF_8)).hasSizeLessThanOrEqualTo(GrpcErrors.MAX_MESSAGE_BYTES);
        assertThat(GrpcWire.message(accents).length()).isLessThan(3 * GrpcErrors.MAX_MESSAGE_BYTES + 1);
        assertThat(GrpcErrors.bounded("x".repeat(GrpcErrors.MAX_MESSAGE_BYTES))).hasSize(GrpcErrors.MAX_MESSAGE_BYTES);
        assertThat(GrpcErrors.bounded("short")).isEqualTo("short");
    }
}
