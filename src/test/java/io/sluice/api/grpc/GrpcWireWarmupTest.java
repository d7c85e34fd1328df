package io.sluice.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.fixtures.WireSamples;
import io.sluice.inference.InferRequest;
import io.sluice.inference.InferResponse;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The gRPC part of warmup frames the message a Triton client sends, which reads back to the very tensors. */
class GrpcWireWarmupTest {

    private static final InferRequest SENT = WireSamples.everyDatatype("m");

    @Test
    void theFramedMessageReadsBackToTheSameTensors() throws Exception {
        byte[] framed = GrpcWireWarmup.framed(GrpcWireWarmup.message(SENT));
        assertThat(framed[0]).as("not compressed").isZero();
        ModelInferRequest read = ModelInferRoute.message(framed, framed.length, null, Integer.MAX_VALUE);
        assertThat(read.getModelName()).isEqualTo("m");
        assertThat(read.getModelVersion()).isEqualTo("1");
        assertThat(read.getRawInputContentsCount()).as("raw contents, as Triton's clients send").isEqualTo(SENT.inputs().size());
        WireSamples.assertSameInputs(GrpcTensors.request(read, InferRequest.NO_DEADLINE), SENT);
    }

    @Test
    void warmingReadsAndFramesWithoutFailing() {
        InferResponse answer = new InferResponse("m", "1", "warmup", Map.of(), SENT.inputs());
        assertThatCode(() -> new GrpcWireWarmup().warm(null, SENT, answer)).doesNotThrowAnyException();
    }
}
