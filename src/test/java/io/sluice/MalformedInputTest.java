package io.sluice;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.startsWith;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.sluice.api.grpc.proto.GRPCInferenceServiceGrpc;
import io.sluice.api.grpc.proto.InferTensorContents;
import io.sluice.api.grpc.proto.ModelInferRequest;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Generated malformed input: random truncations and wrong sizes in binary bodies, and contradictory
 * gRPC messages. Every one gets 400 / INVALID_ARGUMENT within its deadline; the server keeps serving.
 */
@QuarkusTest
@QuarkusTestResource(TinyRepositoryResource.class)
class MalformedInputTest {

    private static final int CASES = 150;

    @Test
    void truncatedAndMisSizedBinaryBodiesAre400() {
        Await.serverReady();
        SplittableRandom random = new SplittableRandom(1234);
        byte[] header = ("{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],\"parameters\":{\"binary_data_size\":16}},"
                + "{\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4],\"parameters\":{\"binary_data_size\":16}}]}")
                .getBytes(StandardCharsets.UTF_8);
        byte[] good = BinaryRestTest.concat(header, new byte[32]);
        for (int i = 0; i < CASES; i++) {
            byte[] body;
            int headerLength = header.length;
            switch (random.nextInt(4)) {
                case 0 -> body = java.util.Arrays.copyOf(good, random.nextInt(good.length)); // truncated
                case 1 -> body = BinaryRestTest.concat(good, new byte[1 + random.nextInt(64)]); // trailing bytes
                case 2 -> {
                    body = good.clone(); // corrupt the JSON header
                    body[random.nextInt(header.length)] = (byte) random.nextInt(256);
                }
                default -> {
                    body = good;
                    headerLength = random.nextInt(good.length + 50) - 10; // lying header length
                }
            }
            if (java.util.Arrays.equals(body, good) && headerLength == header.length) {
                continue;
            }
            int status = given().header("Inference-Header-Content-Length", headerLength)
                    .body(body).post("/v2/models/add/infer").statusCode();
            assertThat(status).as("case %d", i).isIn(400, 200);
        }
        given().contentType("application/json").body("{\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]},"
                + "{\"name\":\"B\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}]}")
                .post("/v2/models/add/infer").then().statusCode(200);
    }

    @Test
    void tokenIdsPastTheVocabularyAre400AndNeverOpenTheCircuit() {
        Await.serverReady();
        String bad = miniLm(999_999);
        // more times than the circuit breaker's request volume: as 500s they would open it for everyone
        for (int i = 0; i < 6; i++) {
            given().contentType("application/json").body(bad).post("/v2/models/all-minilm-l6-v2/infer").then()
                    .statusCode(400).body("error", containsString("the model refused the input"))
                    .body("error", containsString("idx=999999"));
        }
        given().contentType("application/json").body(miniLm(2000)).post("/v2/models/all-minilm-l6-v2/infer").then()
                .statusCode(200);
    }

    @Test
    void aSequenceLongerThanTheModelTakesIs400AndNeverOpensTheCircuit() {
        Await.serverReady();
        // 513 tokens: MiniLM has 512 positions, and ONNX Runtime fails an Add node at run time (ORT_RUNTIME_EXCEPTION,
        // not its INVALID_ARGUMENT); the model still runs its warmup input, so the input is at fault
        String ids = String.join(",", java.util.Collections.nCopies(513, "2000"));
        String ones = String.join(",", java.util.Collections.nCopies(513, "1"));
        String zeros = String.join(",", java.util.Collections.nCopies(513, "0"));
        String tooLong = "{\"inputs\":[{\"name\":\"input_ids\",\"datatype\":\"INT64\",\"shape\":[1,513],\"data\":[" + ids
                + "]},{\"name\":\"attention_mask\",\"datatype\":\"INT64\",\"shape\":[1,513],\"data\":[" + ones + "]},"
                + "{\"name\":\"token_type_ids\",\"datatype\":\"INT64\",\"shape\":[1,513],\"data\":[" + zeros + "]}]}";
        for (int i = 0; i < 6; i++) { // more than the circuit breaker's request volume
            given().contentType("application/json").body(tooLong).post("/v2/models/all-minilm-l6-v2/infer").then()
                    .statusCode(400).body("error", startsWith("model 'all-minilm-l6-v2' could not run this input, though "
                            + "it runs its warmup input: ONNX Runtime failed"));
        }
        given().contentType("application/json").body(miniLm(2000)).post("/v2/models/all-minilm-l6-v2/infer").then()
                .statusCode(200);
    }

    private static String miniLm(long token) {
        return "{\"inputs\":[{\"name\":\"input_ids\",\"datatype\":\"INT64\",\"shape\":[1,4],\"data\":[101," + token
                + ",2000,102]},{\"name\":\"attention_mask\",\"datatype\":\"INT64\",\"shape\":[1,4],\"data\":[1,1,1,1]},"
                + "{\"name\":\"token_type_ids\",\"datatype\":\"INT64\",\"shape\":[1,4],\"data\":[0,0,0,0]}]}";
    }

    @Test
    void mangledJsonBodiesAre400Or200NeverAServerError() {
        Await.serverReady();
        SplittableRandom random = new SplittableRandom(4321);
        String good = "{\"id\":\"x\",\"inputs\":[{\"name\":\"A\",\"datatype\":\"FP32\",\"shape\":[1,4],"
                + "\"data\":[[1.5,-2,3e2,\"NaN\"]]},{\"data\":[1,2,3,4],\"name\":\"B\",\"shape\":[1,4],"
                + "\"datatype\":\"FP32\"}],\"outputs\":[{\"name\":\"SUM\"}],\"parameters\":{\"priority\":1}}";
        String noise = "{}[]\",:0123456789.eE-+ \\nNaux\u00e9";
        for (int i = 0; i < CASES; i++) {
            StringBuilder body = new StringBuilder(good);
            for (int edits = 1 + random.nextInt(3); edits > 0; edits--) {
                int at = random.nextInt(body.length());
                switch (random.nextInt(4)) {
                    case 0 -> body.deleteCharAt(at);
                    case 1 -> body.insert(at, noise.charAt(random.nextInt(noise.length())));
                    case 2 -> body.setCharAt(at, noise.charAt(random.nextInt(noise.length())));
                    default -> body.setLength(at);
                }
            }
            int status = given().contentType("application/json").body(body.toString().getBytes(StandardCharsets.UTF_8))
                    .post("/v2/models/add/infer").statusCode();
            assertThat(status).as("case %d: %s", i, body).isIn(200, 400);
        }
    }

    @Test
    void contradictoryGrpcMessagesAreInvalidArgument() throws InterruptedException {
        Await.serverReady();
        SplittableRandom random = new SplittableRandom(99);
        ManagedChannel channel = GrpcClients.channel();
        try {
            var stub = GRPCInferenceServiceGrpc.newBlockingStub(channel);
            for (int i = 0; i < CASES; i++) {
                ModelInferRequest request = contradictory(random);
                try {
                    stub.withDeadlineAfter(10, TimeUnit.SECONDS).modelInfer(request);
                } catch (StatusRuntimeException e) {
                    assertThat(e.getStatus().getCode()).as("case %d: %s", i, request).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    continue;
                }
                throw new AssertionError("case " + i + " was accepted: " + request);
            }
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void aShapeWhoseByteCountOverflowsIs400AndNeverReachesTheModel() throws InterruptedException {
        Await.serverReady();
        long huge = Integer.MAX_VALUE; // (2^31 - 1)^2 INT64 elements are about 2^65 bytes, past a long (no dimension
        // may pass 2^31 - 1: a longer one is refused earlier, as a shape too large to address)
        List<String> names = List.of("input_ids", "attention_mask", "token_type_ids");
        byte[] header = names.stream()
                .map(n -> "{\"name\":\"" + n + "\",\"datatype\":\"INT64\",\"shape\":[" + huge + "," + huge
                        + "],\"parameters\":{\"binary_data_size\":0}}")
                .collect(Collectors.joining(",", "{\"inputs\":[", "]}")).getBytes(StandardCharsets.UTF_8);
        ModelInferRequest.Builder grpc = ModelInferRequest.newBuilder().setModelName("all-minilm-l6-v2");
        names.forEach(n -> grpc.addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName(n)
                .setDatatype("INT64").addShape(huge).addShape(huge)).addRawInputContents(ByteString.EMPTY));
        ManagedChannel channel = GrpcClients.channel();
        try {
            // more times than the circuit breaker's request volume: a runtime failure each time would open it
            for (int i = 0; i < 6; i++) {
                given().header("Inference-Header-Content-Length", header.length).body(header)
                        .post("/v2/models/all-minilm-l6-v2/infer").then().statusCode(400)
                        .body("error", containsString("needs more bytes than a request can hold"));
                StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
                        () -> GRPCInferenceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                                .modelInfer(grpc.build()));
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                assertThat(e.getStatus().getDescription()).contains("needs more bytes than a request can hold");
            }
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private static ModelInferRequest contradictory(SplittableRandom random) {
        int rows = 1 + random.nextInt(3);
        ModelInferRequest.InferInputTensor.Builder x = ModelInferRequest.InferInputTensor.newBuilder()
                .setName("X").setDatatype("FP32").addShape(rows).addShape(3);
        ModelInferRequest.Builder b = ModelInferRequest.newBuilder().setModelName("matmul");
        switch (random.nextInt(7)) {
            case 0 -> b.addInputs(x).addRawInputContents(ByteString.copyFrom(new byte[rows * 12 + 1 + random.nextInt(8)]));
            case 1 -> b.addInputs(x).addRawInputContents(ByteString.copyFrom(new byte[random.nextInt(rows * 12)]));
            case 2 -> {
                InferTensorContents.Builder c = InferTensorContents.newBuilder();
                int n = rows * 3 + 1 + random.nextInt(5);
                for (int i = 0; i < n; i++) {
                    c.addFp32Contents(i);
                }
                b.addInputs(x.setContents(c));
            }
            case 3 -> b.addInputs(x.setContents(InferTensorContents.newBuilder().addInt64Contents(1)));
            case 4 -> b.addInputs(x).addInputs(x).addRawInputContents(ByteString.copyFrom(new byte[rows * 12]));
            case 5 -> { // the datatype's field is right, but another type's holds elements too
                InferTensorContents.Builder c = InferTensorContents.newBuilder();
                for (int i = 0; i < rows * 3; i++) {
                    c.addFp32Contents(i);
                }
                b.addInputs(x.setContents(c.addInt64Contents(7)));
            }
            default -> b.addInputs(x.setDatatype(random.nextBoolean() ? "FP64" : "FLOAT"))
                    .addRawInputContents(ByteString.copyFrom(new byte[rows * 24]));
        }
        return b.build();
    }
}
