package io.sluice;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.sluice.api.grpc.proto.GRPCInferenceServiceGrpc;
import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.api.grpc.proto.ModelInferResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** REST JSON, REST binary and gRPC return identical tensors, bit for bit, on the same inputs. */
@QuarkusTest
@QuarkusTestResource(TinyRepositoryResource.class)
class ProtocolAgreementTest {

    @ParameterizedTest
    @ValueSource(strings = {"all-minilm-l6-v2", "all-minilm-l6-v2-int8"})
    void miniLm(String model) throws Exception {
        int seq = 32;
        SplittableRandom random = new SplittableRandom(11);
        long[] ids = new long[seq];
        long[] mask = new long[seq];
        for (int i = 0; i < seq; i++) {
            ids[i] = i == 0 ? 101 : i == seq - 1 ? 102 : random.nextInt(1000, 30000);
            mask[i] = 1;
        }
        agree(model, List.of(new Input("input_ids", ids), new Input("attention_mask", mask),
                new Input("token_type_ids", new long[seq])));
    }

    @ParameterizedTest
    @ValueSource(strings = {"matmul"})
    void tinyModel(String model) throws Exception {
        SplittableRandom random = new SplittableRandom(3);
        float[] x = new float[3 * 5];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
        }
        agreeFloats(model, "X", new long[] {5, 3}, x);
    }

    private record Input(String name, long[] values) {
        byte[] bytes() {
            ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
            for (long v : values) {
                b.putLong(v);
            }
            return b.array();
        }
    }

    private void agree(String model, List<Input> inputs) throws Exception {
        Await.serverReady();
        long[] shape = {1, inputs.get(0).values().length};
        // REST JSON
        List<Map<String, Object>> json = new ArrayList<>();
        for (Input in : inputs) {
            List<Long> data = new ArrayList<>();
            for (long v : in.values()) {
                data.add(v);
            }
            json.add(Map.of("name", in.name(), "datatype", "INT64", "shape", List.of(shape[0], shape[1]), "data", data));
        }
        byte[] viaJson = jsonFloats(given().contentType("application/json").body(Map.of("inputs", json))
                .post("/v2/models/" + model + "/infer").then().statusCode(200).extract().asString());
        // REST binary
        List<BinaryRest.Input> binary = inputs.stream()
                .map(in -> new BinaryRest.Input(in.name(), "INT64", shape, in.bytes())).toList();
        byte[] viaBinary = BinaryRest.outputs(BinaryRest.post(model, binary)).get(0).data();
        // gRPC raw
        ModelInferRequest.Builder grpc = ModelInferRequest.newBuilder().setModelName(model);
        for (Input in : inputs) {
            grpc.addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName(in.name()).setDatatype("INT64")
                    .addShape(shape[0]).addShape(shape[1]));
            grpc.addRawInputContents(ByteString.copyFrom(in.bytes()));
        }
        byte[] viaGrpc = grpc(grpc.build()).getRawOutputContents(0).toByteArray();

        assertThat(viaBinary).hasSize(shape[1] == 0 ? 0 : (int) shape[1] * 384 * 4);
        assertThat(viaJson).isEqualTo(viaBinary);
        assertThat(viaGrpc).isEqualTo(viaBinary);
    }

    private void agreeFloats(String model, String name, long[] shape, float[] x) throws Exception {
        Await.serverReady();
        List<Float> data = new ArrayList<>();
        ByteBuffer raw = ByteBuffer.allocate(x.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : x) {
            data.add(v);
            raw.putFloat(v);
        }
        byte[] viaJson = jsonFloats(given().contentType("application/json")
                .body(Map.of("inputs", List.of(Map.of("name", name, "datatype", "FP32", "shape", List.of(shape[0], shape[1]), "data", data))))
                .post("/v2/models/" + model + "/infer").then().statusCode(200).extract().asString());
        byte[] viaBinary = BinaryRest.outputs(BinaryRest.post(model,
                List.of(new BinaryRest.Input(name, "FP32", shape, raw.array())))).get(0).data();
        byte[] viaGrpc = grpc(ModelInferRequest.newBuilder().setModelName(model)
                .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName(name).setDatatype("FP32")
                        .addShape(shape[0]).addShape(shape[1]))
                .addRawInputContents(ByteString.copyFrom(raw.array())).build()).getRawOutputContents(0).toByteArray();
        assertThat(viaJson).isEqualTo(viaBinary);
        assertThat(viaGrpc).isEqualTo(viaBinary);
    }

    private static ModelInferResponse grpc(ModelInferRequest request) throws InterruptedException {
        ManagedChannel channel = GrpcClients.channel();
        try {
            return GRPCInferenceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS).modelInfer(request);
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /** The first output's JSON data, parsed as floats from their exact text, as little-endian bytes. */
    private static byte[] jsonFloats(String body) throws Exception {
        JsonNode data = new ObjectMapper().readTree(body).get("outputs").get(0).get("data");
        ByteBuffer out = ByteBuffer.allocate(data.size() * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (JsonNode v : data) {
            out.putFloat(Float.parseFloat(v.asText()));
        }
        return out.array();
    }
}
