package io.sluice;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.sluice.api.grpc.proto.GRPCInferenceServiceGrpc;
import io.sluice.api.grpc.proto.InferParameter;
import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.api.grpc.proto.ModelInferResponse;
import io.sluice.api.grpc.proto.ModelStreamInferResponse;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * A deadline that is less than a millisecond away once the request reaches its model is met or missed (200 or 504,
 * OK or DEADLINE_EXCEEDED), never a server error: the timer that ends a busy model's wait is at least 1 ms, the
 * least Vert.x schedules (it refused less, which answered 500 or INTERNAL, and stopped a stream for good). The
 * timeouts sweep 100 µs to 1.5 ms, so some land under 1 ms left after parsing, whatever this machine's speed.
 * Shares {@link DeadlineAndCancelTest}'s server.
 */
@QuarkusTest
@TestProfile(DeadlineAndCancelTest.Profile.class)
class SubMillisecondDeadlineTest {

    private static final List<Integer> TIMEOUTS_US = IntStream.rangeClosed(1, 15).map(i -> i * 100).boxed().toList();

    @Test
    void restRequestsAreAnsweredOrTimedOut() {
        Await.serverReady();
        for (int micros : TIMEOUTS_US) {
            int status = given().contentType(ContentType.JSON).body("""
                    {"parameters":{"timeout":%d},
                     "inputs":[{"name":"A","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]},
                               {"name":"B","datatype":"FP32","shape":[1,4],"data":[1,1,1,1]}]}""".formatted(micros))
                    .post("/v2/models/" + VersionPolicyServedTest.MODEL + "/infer").statusCode();
            assertThat(status).as("timeout %d µs", micros).isIn(200, 504);
        }
    }

    @Test
    void grpcCallsAreAnsweredOrTimedOutByParameterOrDeadline() {
        Await.serverReady();
        ManagedChannel channel = GrpcClients.channel();
        try {
            var stub = GRPCInferenceServiceGrpc.newBlockingStub(channel);
            stub.modelInfer(request("warm", 0)); // the connection opens before the deadlines start
            for (int micros : TIMEOUTS_US) {
                answeredOrTimedOut(() -> stub.modelInfer(request("p" + micros, micros)), "p" + micros);
                answeredOrTimedOut(() -> stub.withDeadlineAfter(micros, TimeUnit.MICROSECONDS)
                        .modelInfer(request("d" + micros, 0)), "d" + micros);
            }
        } finally {
            channel.shutdownNow();
        }
    }

    @Test
    void aStreamAnswersEachRequestAndGoesOn() {
        Await.serverReady();
        ManagedChannel channel = GrpcClients.channel();
        try {
            GrpcStream stream = GrpcStream.open(channel, false);
            for (int micros : TIMEOUTS_US) {
                stream.send(request("t" + micros, micros));
            }
            stream.send(request("after", 0)).halfClose();
            List<ModelStreamInferResponse> answers = stream.awaitAnswers(TIMEOUTS_US.size() + 1);
            for (int i = 0; i < TIMEOUTS_US.size(); i++) {
                ModelStreamInferResponse answer = answers.get(i);
                assertThat(answer.getInferResponse().getId()).isEqualTo("t" + TIMEOUTS_US.get(i));
                if (!answer.getErrorMessage().isEmpty()) {
                    assertThat(answer.getErrorMessage()).as(answer.getInferResponse().getId()).contains("deadline");
                }
            }
            assertThat(answers.get(TIMEOUTS_US.size()).getErrorMessage()).isEmpty();
            assertThat(answers.get(TIMEOUTS_US.size()).getInferResponse().getId()).isEqualTo("after");
            assertThat(stream.awaitEnd().getCode()).isEqualTo(Status.Code.OK);
        } finally {
            channel.shutdownNow();
        }
    }

    /** The call's own answer (its id, with outputs), or DEADLINE_EXCEEDED: nothing else. */
    private static void answeredOrTimedOut(java.util.function.Supplier<ModelInferResponse> call, String id) {
        ModelInferResponse answer;
        try {
            answer = call.get();
        } catch (StatusRuntimeException e) {
            assertThat(e.getStatus().getCode()).as(id + ": " + e.getStatus()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
            return;
        }
        assertThat(answer.getId()).isEqualTo(id);
        assertThat(answer.getOutputsCount()).as(id).isPositive();
    }

    /** One row for the fast model, with a {@code timeout} parameter of {@code micros} (0: none). */
    private static ModelInferRequest request(String id, int micros) {
        ModelInferRequest.Builder request = ModelInferRequest.newBuilder()
                .setModelName(VersionPolicyServedTest.MODEL).setId(id);
        for (String input : List.of("A", "B")) {
            request.addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName(input).setDatatype("FP32")
                    .addShape(1).addShape(4)).addRawInputContents(ByteString.copyFrom(new byte[16]));
        }
        if (micros > 0) {
            request.putParameters("timeout", InferParameter.newBuilder().setInt64Param(micros).build());
        }
        return request.build();
    }
}
