package io.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.protobuf.ByteString;
import com.google.rpc.RetryInfo;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.sluice.api.grpc.proto.GRPCInferenceServiceGrpc;
import io.sluice.api.grpc.proto.InferParameter;
import io.sluice.api.grpc.proto.InferTensorContents;
import io.sluice.api.grpc.proto.DataType;
import io.sluice.api.grpc.proto.ModelConfig;
import io.sluice.api.grpc.proto.ModelConfigRequest;
import io.sluice.api.grpc.proto.ModelInstanceGroup;
import io.sluice.api.grpc.proto.ModelStatistics;
import io.sluice.api.grpc.proto.ModelStatisticsRequest;
import io.sluice.api.grpc.proto.RepositoryIndexRequest;
import io.sluice.api.grpc.proto.RepositoryIndexResponse;
import io.sluice.api.grpc.proto.RepositoryModelLoadRequest;
import io.sluice.api.grpc.proto.RepositoryModelUnloadRequest;
import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.api.grpc.proto.ModelInferResponse;
import io.sluice.api.grpc.proto.ModelMetadataRequest;
import io.sluice.api.grpc.proto.ModelMetadataResponse;
import io.sluice.api.grpc.proto.ModelStreamInferResponse;
import io.sluice.api.grpc.proto.ModelReadyRequest;
import io.sluice.api.grpc.proto.ServerLiveRequest;
import io.sluice.api.grpc.proto.ServerMetadataRequest;
import io.sluice.api.grpc.proto.ServerReadyRequest;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** A real gRPC client, generated from the proto, against the running app: every RPC and error code. */
@QuarkusTest
@QuarkusTestResource(TinyRepositoryResource.class)
class GrpcProtocolTest {

    private ManagedChannel channel;
    private GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub stub;

    @BeforeEach
    void connect() {
        Await.serverReady();
        channel = GrpcClients.channel();
        stub = GRPCInferenceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    @AfterEach
    void close() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    @Test
    void serverRpcs() {
        assertThat(stub.serverLive(ServerLiveRequest.getDefaultInstance()).getLive()).isTrue();
        assertThat(stub.serverReady(ServerReadyRequest.getDefaultInstance()).getReady()).isTrue();
        var meta = stub.serverMetadata(ServerMetadataRequest.getDefaultInstance());
        assertThat(meta.getName()).isEqualTo("sluice");
        assertThat(meta.getExtensionsList()).contains("binary_tensor_data", "schedule_policy");
    }

    @Test
    void modelConfigAsTritonSendsIt() {
        ModelConfig c = stub.modelConfig(ModelConfigRequest.newBuilder().setName("add").build()).getConfig();
        assertThat(c.getName()).isEqualTo("add");
        assertThat(c.getPlatform()).isEqualTo("onnxruntime_onnx");
        assertThat(c.getBackend()).isEqualTo("onnxruntime");
        assertThat(c.getMaxBatchSize()).isEqualTo(8);
        assertThat(c.getInputList()).extracting(i -> i.getName()).containsExactly("A", "B");
        assertThat(c.getInput(0).getDataType()).isEqualTo(DataType.TYPE_FP32);
        assertThat(c.getInput(0).getDimsList()).containsExactly(4L);
        assertThat(c.getOutput(0).getDimsList()).containsExactly(4L);
        assertThat(c.hasDynamicBatching()).isTrue();
        assertThat(c.getVersionPolicy().hasAll()).isTrue();
        assertThat(c.getInstanceGroup(0).getKind()).isEqualTo(ModelInstanceGroup.Kind.KIND_CPU);
        assertThat(c.getInstanceGroup(0).getCount()).isEqualTo(Math.min(2, Runtime.getRuntime().availableProcessors()));
        ModelConfig minilm = stub.modelConfig(ModelConfigRequest.newBuilder().setName("all-minilm-l6-v2").setVersion("1")
                .build()).getConfig();
        assertThat(minilm.getMaxBatchSize()).isEqualTo(4);
        assertThat(minilm.getInput(0).getDataType()).isEqualTo(DataType.TYPE_INT64);
        StatusRuntimeException missing = catchThrowableOfType(StatusRuntimeException.class,
                () -> stub.modelConfig(ModelConfigRequest.newBuilder().setName("nope").build()));
        assertThat(missing.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(stub.serverMetadata(ServerMetadataRequest.getDefaultInstance()).getExtensionsList())
                .contains("model_configuration");
    }

    @Test
    void modelStatisticsAsTritonSendsThem() {
        ModelStatisticsRequest addOne = ModelStatisticsRequest.newBuilder().setName("add").setVersion("1").build();
        ModelStatistics before = stub.modelStatistics(addOne).getModelStats(0);
        stub.modelInfer(ModelInferRequest.newBuilder().setModelName("add").setModelVersion("1")
                .addInputs(fp32("A", 1f, 2f, 3f, 4f)).addInputs(fp32("B", 1f, 1f, 1f, 1f)).build());
        ModelStatistics after = stub.modelStatistics(addOne).getModelStats(0);
        assertThat(after.getName()).isEqualTo("add");
        assertThat(after.getVersion()).isEqualTo("1");
        assertThat(after.getInferenceStats().getSuccess().getCount() - before.getInferenceStats().getSuccess().getCount())
                .isEqualTo(1);
        assertThat(after.getInferenceCount() - before.getInferenceCount()).isEqualTo(1);
        assertThat(after.getExecutionCount() - before.getExecutionCount()).isEqualTo(1);
        assertThat(after.getBatchStatsList()).anySatisfy(b -> assertThat(b.getBatchSize()).isEqualTo(1));
        assertThat(stub.modelStatistics(ModelStatisticsRequest.getDefaultInstance()).getModelStatsList())
                .extracting(ModelStatistics::getName).contains("add", "matmul").doesNotContain("corrupt");
        StatusRuntimeException missing = catchThrowableOfType(StatusRuntimeException.class,
                () -> stub.modelStatistics(ModelStatisticsRequest.newBuilder().setName("nope").build()));
        assertThat(missing.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    }

    @Test
    void repositoryIndexAsTritonSendsIt() {
        Await.modelSettled("corrupt"); // optional: readiness does not wait for it
        List<RepositoryIndexResponse.ModelIndex> all = stub.repositoryIndex(RepositoryIndexRequest.getDefaultInstance())
                .getModelsList();
        assertThat(all).filteredOn(m -> m.getName().equals("add")).extracting(RepositoryIndexResponse.ModelIndex::getVersion)
                .containsExactly("1", "2");
        assertThat(all).filteredOn(m -> m.getName().equals("corrupt")).singleElement()
                .satisfies(m -> assertThat(m.getState()).isEqualTo("UNAVAILABLE"))
                .satisfies(m -> assertThat(m.getReason()).isNotEmpty());
        assertThat(stub.repositoryIndex(RepositoryIndexRequest.newBuilder().setReady(true).build()).getModelsList())
                .extracting(RepositoryIndexResponse.ModelIndex::getState).containsOnly("READY");
    }

    @Test
    void loadAndUnloadAreRefusedSayingWhyAsOverRest() {
        StatusRuntimeException load = catchThrowableOfType(StatusRuntimeException.class,
                () -> stub.repositoryModelLoad(RepositoryModelLoadRequest.newBuilder().setModelName("add").build()));
        assertThat(load.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(load.getStatus().getDescription()).contains("does not load models at run time").contains("'add'");
        StatusRuntimeException unload = catchThrowableOfType(StatusRuntimeException.class,
                () -> stub.repositoryModelUnload(RepositoryModelUnloadRequest.newBuilder().setModelName("add").build()));
        assertThat(unload.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(unload.getStatus().getDescription()).contains("does not unload models at run time");
        // KServe's proto puts the model's name in field 1, Triton's repository_name
        StatusRuntimeException kserve = catchThrowableOfType(StatusRuntimeException.class,
                () -> stub.repositoryModelLoad(RepositoryModelLoadRequest.newBuilder().setRepositoryName("add").build()));
        assertThat(kserve.getStatus().getDescription()).contains("'add'");
        // and the model is still served
        assertThat(stub.modelReady(ModelReadyRequest.newBuilder().setName("add").build()).getReady()).isTrue();
    }

    @Test
    void classificationAnswersTheTopClassesAsTritonDoes() {
        ModelInferResponse r = stub.modelInfer(ModelInferRequest.newBuilder().setModelName("matmul")
                .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("X").setDatatype("FP32").addShape(1).addShape(3))
                .addRawInputContents(rawFloats(1, 1, 1))
                .addOutputs(ModelInferRequest.InferRequestedOutputTensor.newBuilder().setName("Y")
                        .putParameters("classification", InferParameter.newBuilder().setInt64Param(2).build()))
                .build());
        assertThat(r.getOutputs(0).getDatatype()).isEqualTo("BYTES");
        assertThat(r.getOutputs(0).getShapeList()).containsExactly(1L, 2L);
        ByteBuffer raw = r.getRawOutputContents(0).asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        List<String> classes = new java.util.ArrayList<>();
        while (raw.hasRemaining()) {
            byte[] text = new byte[raw.getInt()];
            raw.get(text);
            classes.add(new String(text, java.nio.charset.StandardCharsets.UTF_8));
        }
        assertThat(classes).containsExactly("12.000000:1", "9.000000:0");
    }

    @Test
    void modelRpcs() {
        assertThat(stub.modelReady(ModelReadyRequest.newBuilder().setName("add").build()).getReady()).isTrue();
        assertThat(stub.modelReady(ModelReadyRequest.newBuilder().setName("corrupt").build()).getReady()).isFalse();
        ModelMetadataResponse m = stub.modelMetadata(ModelMetadataRequest.newBuilder().setName("add").setVersion("1").build());
        assertThat(m.getVersionsList()).containsExactly("1", "2");
        assertThat(m.getPlatform()).isEqualTo("onnx_onnxv1");
        assertThat(m.getInputsList()).extracting(ModelMetadataResponse.TensorMetadata::getName).containsExactly("A", "B");
        assertThat(m.getInputs(0).getShapeList()).containsExactly(-1L, 4L);
        assertThat(m.getParametersMap().get("execution_provider").getStringParam()).isEqualTo("cpu");
    }

    @Test
    void typedContentsInRawContentsOut() {
        ModelInferResponse r = stub.modelInfer(ModelInferRequest.newBuilder()
                .setModelName("add").setId("g1")
                .addInputs(fp32("A", 1, 2, 3, 4))
                .addInputs(fp32("B", 1, 1, 1, 1))
                .addOutputs(ModelInferRequest.InferRequestedOutputTensor.newBuilder().setName("SUM"))
                .build());
        assertThat(r.getId()).isEqualTo("g1");
        assertThat(r.getModelVersion()).isEqualTo("2");
        assertThat(r.getOutputsList()).extracting(ModelInferResponse.InferOutputTensor::getName).containsExactly("SUM");
        assertThat(floats(r.getRawOutputContents(0))).containsExactly(2, 3, 4, 5);
    }

    @Test
    void rawContentsIn() {
        ModelInferResponse r = stub.modelInfer(ModelInferRequest.newBuilder()
                .setModelName("matmul")
                .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("X").setDatatype("FP32").addShape(1).addShape(3))
                .addRawInputContents(rawFloats(1, 1, 1))
                .build());
        assertThat(r.getOutputs(0).getShapeList()).containsExactly(1L, 2L);
        assertThat(floats(r.getRawOutputContents(0))).containsExactly(9, 12);
    }

    @ParameterizedTest
    @CsvSource({"BOOL", "UINT8", "INT8", "INT16", "INT32", "INT64", "FP16", "BF16", "FP32", "FP64", "BYTES"})
    void everyDatatypeRoundTripsRaw(String datatype) {
        ByteString raw = sample(datatype);
        ModelInferResponse r = stub.modelInfer(ModelInferRequest.newBuilder()
                .setModelName("identity_" + datatype.toLowerCase())
                .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("INPUT0").setDatatype(datatype)
                        .addShape(1).addShape(4))
                .addRawInputContents(raw)
                .build());
        assertThat(r.getOutputs(0).getDatatype()).isEqualTo(datatype);
        assertThat(r.getRawOutputContents(0)).isEqualTo(raw);
    }

    @Test
    void aRawBoolByteOtherThanZeroOrOneIsInvalidArgument() {
        ModelInferRequest request = ModelInferRequest.newBuilder()
                .setModelName("identity_bool")
                .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("INPUT0").setDatatype("BOOL")
                        .addShape(1).addShape(4))
                .addRawInputContents(ByteString.copyFrom(new byte[] {0, 1, 1, (byte) 0xff}))
                .build();
        StatusRuntimeException e = catchThrowableOfType(() -> stub.modelInfer(request), StatusRuntimeException.class);
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(e.getStatus().getDescription())
                .contains("input 'INPUT0': BOOL element 3 is the byte 255; a BOOL is 0 (false) or 1 (true)");
    }

    @ParameterizedTest
    @CsvSource({"BOOL", "UINT8", "INT8", "INT16", "INT32", "INT64", "FP32", "FP64", "BYTES"})
    void everyTypedDatatypeMatchesItsRawForm(String datatype) {
        InferTensorContents.Builder c = InferTensorContents.newBuilder();
        for (int i = 0; i < 4; i++) {
            switch (datatype) {
                case "BOOL" -> c.addBoolContents(i % 2 == 0);
                case "UINT8" -> c.addUintContents(250 + i);
                case "INT8", "INT16", "INT32" -> c.addIntContents(-i * 3);
                case "INT64" -> c.addInt64Contents(Long.MIN_VALUE + i);
                case "FP32" -> c.addFp32Contents(i / 3f);
                case "FP64" -> c.addFp64Contents(i / 3d);
                default -> c.addBytesContents(ByteString.copyFromUtf8("s" + i));
            }
        }
        ModelInferResponse r = stub.modelInfer(ModelInferRequest.newBuilder()
                .setModelName("identity_" + datatype.toLowerCase())
                .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("INPUT0").setDatatype(datatype)
                        .addShape(1).addShape(4).setContents(c))
                .build());
        assertThat(r.getRawOutputContents(0)).isEqualTo(rawOf(datatype, c.build()));
    }

    @Test
    void streamInferAnswersEachRequestOnTheStreamAndAFailureInIt() {
        GrpcStream stream = GrpcStream.open(channel, false);
        for (int i = 0; i < 6; i++) {
            stream.send(addRequest("s" + i, i));
            if (i == 2) {
                stream.send(ModelInferRequest.newBuilder().setModelName("nope").setId("missing").build());
            }
            if (i == 4) { // as Triton: a failure is answered in the stream, which goes on
                stream.send(ModelInferRequest.newBuilder().setModelName("add").setId("bad")
                        .addInputs(fp32("A", 1, 2, 3, 4)).build());
            }
        }
        assertThat(stream.halfClose().awaitEnd().getCode()).isEqualTo(Status.Code.OK);
        // answered in the order asked, as Triton answers a model that is not decoupled
        assertThat(stream.answers()).extracting(a -> a.getInferResponse().getId())
                .containsExactly("s0", "s1", "s2", "missing", "s3", "s4", "bad", "s5");
        java.util.Map<String, ModelStreamInferResponse> byId = new java.util.HashMap<>();
        stream.answers().forEach(a -> byId.put(a.getInferResponse().getId(), a));
        assertThat(stream.answers()).allSatisfy(a -> assertThat(
                a.getInferResponse().getParametersMap().get("triton_final_response").getBoolParam()).isTrue());
        for (int i = 0; i < 6; i++) {
            ModelStreamInferResponse a = byId.get("s" + i);
            assertThat(a.getErrorMessage()).isEmpty();
            assertThat(a.getInferResponse().getModelName()).isEqualTo("add");
            assertThat(a.getInferResponse().getModelVersion()).isEqualTo("2");
            assertThat(a.getInferResponse().getOutputsList()).extracting(ModelInferResponse.InferOutputTensor::getName)
                    .containsExactly("SUM");
            assertThat(floats(a.getInferResponse().getRawOutputContents(0))).containsExactly(i + 1, i + 1, i + 1, i + 1);
        }
        assertThat(byId.get("missing").getErrorMessage()).contains("unknown model 'nope'");
        assertThat(byId.get("missing").getInferResponse().getModelName()).isEqualTo("nope");
        assertThat(byId.get("missing").getInferResponse().getOutputsCount()).isZero();
        assertThat(byId.get("bad").getErrorMessage()).contains("missing input 'B'");
    }

    @Test
    void streamInferSaysWhenToRetryARejection() {
        GrpcStream stream = GrpcStream.open(channel, false);
        ModelStreamInferResponse a = stream.send(ModelInferRequest.newBuilder().setModelName("corrupt").setId("c").build())
                .awaitAnswers(1).get(0);
        assertThat(a.getErrorMessage()).contains("FAILED").containsPattern("\\(retry after \\d+ ms\\)$");
        assertThat(a.getInferResponse().getId()).isEqualTo("c");
        assertThat(stream.halfClose().awaitEnd().getCode()).isEqualTo(Status.Code.OK);
    }

    @Test
    void withTritonGrpcErrorTheFirstFailureEndsTheStreamWithItsStatus() {
        GrpcStream stream = GrpcStream.open(channel, true);
        ModelStreamInferResponse ok = stream.send(addRequest("first", 1)).awaitAnswers(1).get(0);
        assertThat(ok.getErrorMessage()).isEmpty();
        stream.send(ModelInferRequest.newBuilder().setModelName("corrupt").setId("c").build());
        assertThat(stream.awaitEnd().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(stream.failure().getStatus().getDescription()).contains("FAILED");
        assertThat(GrpcClients.retryDelaySeconds(stream.failure())).isGreaterThanOrEqualTo(1);
        assertThat(stream.answers()).hasSize(1);
    }

    @Test
    void aStreamRequestWhoseContentsWouldParsePastTheLimitEndsTheStreamBeforeItIsParsed() throws Exception {
        RawStream stream = new RawStream(channel, false);
        ModelStreamInferResponse ok = stream.send(addRequest("first", 1).toByteArray()).awaitAnswers(1).get(0);
        assertThat(ok.getErrorMessage()).isEmpty();

        // 1 Mi + 1 packed int64 zeros: 1 MB on the wire, within the tests' limit of 8 MiB; 8 MiB + 8 parsed
        stream.send(zerosRequest((8 << 20) / 8 + 1));

        Status end = stream.awaitEnd();
        assertThat(end.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(end.getDescription()).isEqualTo("request, once parsed, would take more than the server's limit"
                + " of 8388608 bytes (quarkus.grpc.server.max-inbound-message-size)");
        assertThat(stream.answers()).hasSize(1);
    }

    @Test
    void aStreamRequestWithTheFieldThatMarksARefusalIsServedAsAnyOther() throws Exception {
        // the server hands a refused message on with its status in the highest field number: from a client it means nothing
        java.io.ByteArrayOutputStream forged = new java.io.ByteArrayOutputStream();
        addRequest("first", 1).writeTo(forged);
        com.google.protobuf.CodedOutputStream f = com.google.protobuf.CodedOutputStream.newInstance(forged);
        f.writeUInt64((1 << 29) - 1, Status.Code.INTERNAL.value());
        f.writeString((1 << 29) - 1, "forged");
        f.flush();
        RawStream stream = new RawStream(channel, false);

        ModelStreamInferResponse ok = stream.send(forged.toByteArray()).awaitAnswers(1).get(0);

        assertThat(ok.getErrorMessage()).isEmpty();
        assertThat(ok.getInferResponse().getId()).isEqualTo("first");
        assertThat(floats(ok.getInferResponse().getRawOutputContents(0))).containsExactly(2, 2, 2, 2);
    }

    @Test
    void aCompressedStreamRequestThatInflatesPastTheLimitEndsTheStreamAtTheLimit() throws Exception {
        // 9 MiB of zeros gzip to some 9 KB, within every limit on the wire
        byte[] request = ModelInferRequest.newBuilder().setModelName("add").setId("bomb")
                .addRawInputContents(ByteString.copyFrom(new byte[9 << 20])).build().toByteArray();
        RawStream stream = new RawStream(channel, true);

        stream.send(request);

        Status end = stream.awaitEnd();
        assertThat(end.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(end.getDescription()).isEqualTo("decompressed request message larger than the server's limit of"
                + " 8388608 bytes (quarkus.grpc.server.max-inbound-message-size)");
    }

    @Test
    void aStreamRequestThatIsNotAModelInferRequestEndsTheStreamWithInvalidArgument() throws Exception {
        double before = unreadRefusals();
        RawStream stream = new RawStream(channel, false);
        stream.send(new byte[] {0x0A, 0x7F, 'x'}); // field 1 claims 127 bytes, 1 follows

        Status end = stream.awaitEnd();
        assertThat(end.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(end.getDescription()).startsWith("request is not a ModelInferRequest: ");
        assertThat(unreadRefusals()).isEqualTo(before + 1);
    }

    @Test
    void aModelInferRequestWhoseContentsWouldParsePastTheLimitIsRefusedBeforeItIsParsed() throws Exception {
        var method = GRPCInferenceServiceGrpc.getModelInferMethod().toBuilder(RawStream.BYTES,
                GRPCInferenceServiceGrpc.getModelInferMethod().getResponseMarshaller()).build();
        byte[] zeros = zerosRequest((8 << 20) / 8 + 1);

        double before = unreadRefusals();

        StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, () -> io.grpc.stub.ClientCalls
                .blockingUnaryCall(channel, method, io.grpc.CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), zeros));

        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(e.getStatus().getDescription()).isEqualTo("request, once parsed, would take more than the server's limit"
                + " of 8388608 bytes (quarkus.grpc.server.max-inbound-message-size)");
        // its model's name is inside the message: counted under _unknown, a client's mistake
        assertThat(unreadRefusals()).isEqualTo(before + 1);
    }

    /** gRPC requests refused before their model's name was read: {@code sluice_requests_total} under {@code _unknown}. */
    static double unreadRefusals() {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                "(?m)^sluice_requests_total\\{model=\"_unknown\",outcome=\"invalid\",protocol=\"grpc\"} ([0-9.eE+-]+)")
                .matcher(io.restassured.RestAssured.given().get("/q/metrics").asString());
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    @Test
    void bytesElementsPastTheServersLimitAreResourceExhausted() {
        // the tests' limit is 32 (TinyRepositoryResource)
        InferTensorContents.Builder empty = InferTensorContents.newBuilder();
        for (int i = 0; i < 36; i++) {
            empty.addBytesContents(ByteString.EMPTY);
        }
        assertStatus(() -> stub.modelInfer(ModelInferRequest.newBuilder().setModelName("identity_bytes")
                        .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("INPUT0").setDatatype("BYTES")
                                .addShape(9).addShape(4).setContents(empty)).build()),
                Status.Code.RESOURCE_EXHAUSTED, "request's inputs hold 36 BYTES elements, more than the server's limit of 32");
    }

    /** A ModelInferRequest for "add" whose input holds {@code n} int64 zeros, written by hand (packed: 1 byte each). */
    private static byte[] zerosRequest(int n) throws java.io.IOException {
        java.io.ByteArrayOutputStream contents = new java.io.ByteArrayOutputStream();
        com.google.protobuf.CodedOutputStream c = com.google.protobuf.CodedOutputStream.newInstance(contents);
        c.writeTag(3, com.google.protobuf.WireFormat.WIRETYPE_LENGTH_DELIMITED); // int64_contents, packed
        c.writeUInt32NoTag(n);
        c.writeRawBytes(new byte[n]);
        c.flush();
        ModelInferRequest.InferInputTensor head = ModelInferRequest.InferInputTensor.newBuilder()
                .setName("A").setDatatype("INT64").addShape(n).build();
        java.io.ByteArrayOutputStream input = new java.io.ByteArrayOutputStream();
        head.writeTo(input);
        com.google.protobuf.CodedOutputStream i = com.google.protobuf.CodedOutputStream.newInstance(input);
        i.writeByteArray(5, contents.toByteArray()); // contents
        i.flush();
        java.io.ByteArrayOutputStream request = new java.io.ByteArrayOutputStream();
        ModelInferRequest.newBuilder().setModelName("add").setId("zeros").build().writeTo(request);
        com.google.protobuf.CodedOutputStream r = com.google.protobuf.CodedOutputStream.newInstance(request);
        r.writeByteArray(5, input.toByteArray()); // inputs
        r.flush();
        return request.toByteArray();
    }

    /** A {@code ModelStreamInfer} stream whose requests are sent as bytes, so they may be anything. */
    private static final class RawStream implements io.grpc.stub.StreamObserver<ModelStreamInferResponse> {
        private static final io.grpc.MethodDescriptor.Marshaller<byte[]> BYTES = new io.grpc.MethodDescriptor.Marshaller<>() {
            @Override
            public java.io.InputStream stream(byte[] value) {
                return new java.io.ByteArrayInputStream(value);
            }

            @Override
            public byte[] parse(java.io.InputStream stream) {
                throw new UnsupportedOperationException("only sent");
            }
        };
        private final List<ModelStreamInferResponse> answers = new java.util.concurrent.CopyOnWriteArrayList<>();
        private final java.util.concurrent.CompletableFuture<Status> end = new java.util.concurrent.CompletableFuture<>();
        private final io.grpc.stub.StreamObserver<byte[]> requests;

        /** {@code gzip}: the client compresses its messages. */
        RawStream(ManagedChannel channel, boolean gzip) {
            var method = GRPCInferenceServiceGrpc.getModelStreamInferMethod().toBuilder(BYTES,
                    GRPCInferenceServiceGrpc.getModelStreamInferMethod().getResponseMarshaller()).build();
            io.grpc.CallOptions options = io.grpc.CallOptions.DEFAULT.withDeadlineAfter(60, TimeUnit.SECONDS);
            requests = io.grpc.stub.ClientCalls.asyncBidiStreamingCall(
                    channel.newCall(method, gzip ? options.withCompression("gzip") : options), this);
        }

        RawStream send(byte[] request) {
            requests.onNext(request);
            return this;
        }

        List<ModelStreamInferResponse> awaitAnswers(int n) {
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30))
                    .until(() -> answers.size() >= n || end.isDone());
            assertThat(answers).hasSizeGreaterThanOrEqualTo(n);
            return answers;
        }

        List<ModelStreamInferResponse> answers() {
            return answers;
        }

        Status awaitEnd() {
            return end.orTimeout(30, TimeUnit.SECONDS).join();
        }

        @Override
        public void onNext(ModelStreamInferResponse answer) {
            answers.add(answer);
        }

        @Override
        public void onError(Throwable t) {
            end.complete(Status.fromThrowable(t));
        }

        @Override
        public void onCompleted() {
            end.complete(Status.OK);
        }
    }

    private static ModelInferRequest addRequest(String id, float a) {
        return ModelInferRequest.newBuilder().setModelName("add").setId(id)
                .addInputs(fp32("A", a, a, a, a)).addInputs(fp32("B", 1, 1, 1, 1))
                .addOutputs(ModelInferRequest.InferRequestedOutputTensor.newBuilder().setName("SUM"))
                .build();
    }

    @Test
    void notFound() {
        assertStatus(() -> stub.modelInfer(ModelInferRequest.newBuilder().setModelName("nope").build()),
                Status.Code.NOT_FOUND, "unknown model 'nope'");
        assertStatus(() -> stub.modelMetadata(ModelMetadataRequest.newBuilder().setName("add").setVersion("9").build()),
                Status.Code.NOT_FOUND, "version '9'");
        // as Triton: ModelReady of a model it does not have is ready=false, so is_model_ready("typo") is False
        assertThat(stub.modelReady(ModelReadyRequest.newBuilder().setName("../etc").build()).getReady()).isFalse();
        assertThat(stub.modelReady(ModelReadyRequest.newBuilder().setName("nope").build()).getReady()).isFalse();
        assertThat(stub.modelReady(ModelReadyRequest.newBuilder().setName("add").setVersion("9").build()).getReady())
                .isFalse();
    }

    @Test
    void invalidArgument() {
        assertStatus(() -> stub.modelInfer(ModelInferRequest.newBuilder().setModelName("add")
                .addInputs(fp32("A", 1, 2, 3, 4)).build()), Status.Code.INVALID_ARGUMENT, "missing input 'B'");
        assertStatus(() -> stub.modelInfer(ModelInferRequest.newBuilder().setModelName("matmul")
                        .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("X").setDatatype("FP32").addShape(1).addShape(3))
                        .addRawInputContents(rawFloats(1, 1)).build()),
                Status.Code.INVALID_ARGUMENT, "needs 12 bytes, got 8");
        assertStatus(() -> stub.modelInfer(ModelInferRequest.newBuilder().setModelName("matmul")
                        .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("X").setDatatype("FP32").addShape(1).addShape(3)
                                .setContents(InferTensorContents.newBuilder().addFp32Contents(1)))
                        .addRawInputContents(rawFloats(1, 1, 1)).build()),
                Status.Code.INVALID_ARGUMENT, "both contents and raw_input_contents");
        assertStatus(() -> stub.modelInfer(ModelInferRequest.newBuilder().setModelName("identity_fp16")
                        .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("INPUT0").setDatatype("FP16")
                                .addShape(1).addShape(4).setContents(InferTensorContents.newBuilder().addFp32Contents(1)))
                        .build()),
                Status.Code.INVALID_ARGUMENT, "travels only in raw_input_contents");
        assertStatus(() -> stub.modelInfer(ModelInferRequest.newBuilder().setModelName("matmul")
                        .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("X").setDatatype("FP32").addShape(1).addShape(3))
                        .addRawInputContents(rawFloats(1, 1, 1)).addRawInputContents(rawFloats(1)).build()),
                Status.Code.INVALID_ARGUMENT, "raw_input_contents has 2 entries for 1 inputs");
        // extensions Sluice does not implement are refused, not ignored into a wrong answer
        assertStatus(() -> stub.modelInfer(ModelInferRequest.newBuilder().setModelName("matmul")
                        .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("X").setDatatype("FP32").addShape(1).addShape(3))
                        .addRawInputContents(rawFloats(1, 1, 1))
                        .addOutputs(ModelInferRequest.InferRequestedOutputTensor.newBuilder().setName("Y")
                                .putParameters("classification", InferParameter.newBuilder().setStringParam("2").build()))
                        .build()),
                Status.Code.INVALID_ARGUMENT, "output 'Y' parameter classification must be a positive integer");
        assertStatus(() -> stub.modelInfer(ModelInferRequest.newBuilder().setModelName("matmul")
                        .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("X").setDatatype("FP32").addShape(1).addShape(3)
                                .putParameters("shared_memory_region", InferParameter.newBuilder().setStringParam("r").build()))
                        .build()),
                Status.Code.INVALID_ARGUMENT, "the shared-memory extension");
    }

    @Test
    void unavailableCarriesRetryInfo() {
        Await.modelSettled("corrupt"); // optional: readiness does not wait for it
        StatusRuntimeException e = assertStatus(() -> stub.modelInfer(ModelInferRequest.newBuilder().setModelName("corrupt").build()),
                Status.Code.UNAVAILABLE, "FAILED");
        com.google.rpc.Status details = StatusProto.fromThrowable(e);
        assertThat(details).isNotNull();
        assertThat(details.getDetailsList()).anySatisfy(any -> assertThat(any.is(RetryInfo.class)).isTrue());
    }

    @Test
    void aRuntimeFailureIsInternal() {
        assertStatus(() -> stub.modelInfer(ModelInferRequest.newBuilder().setModelName("reshape")
                        .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("X").setDatatype("FP32").addShape(3).addShape(4))
                        .addRawInputContents(ByteString.copyFrom(new byte[48])).build()),
                Status.Code.INTERNAL, "model 'reshape' failed");
    }

    @Test
    void aMessageOverTheLimitIsResourceExhausted() {
        int rows = 9 * 1024 * 1024 / 12 + 1;
        assertStatus(() -> stub.modelInfer(ModelInferRequest.newBuilder().setModelName("matmul")
                        .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("X").setDatatype("FP32").addShape(rows).addShape(3))
                        .addRawInputContents(ByteString.copyFrom(new byte[rows * 12])).build()),
                Status.Code.RESOURCE_EXHAUSTED, null);
    }

    @Test
    void expiredDeadlinesAreNeverExecuted() {
        double batchesBefore = matmulBatches();
        assertStatus(() -> stub.modelInfer(ModelInferRequest.newBuilder().setModelName("matmul")
                        .putParameters("timeout", InferParameter.newBuilder().setInt64Param(1).build())
                        .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("X").setDatatype("FP32").addShape(1).addShape(3))
                        .addRawInputContents(rawFloats(1, 1, 1)).build()),
                Status.Code.DEADLINE_EXCEEDED, "deadline passed");
        assertThat(matmulBatches()).as("batches the model ran").isEqualTo(batchesBefore);
    }

    private static double matmulBatches() {
        return BatchingTest.metric(io.restassured.RestAssured.given().get("/q/metrics").asString(),
                "sluice_batch_size_count\\{model=\"matmul\"}");
    }

    @Test
    void aTimeoutTooLongForNanosecondsIsNoDeadline() {
        var response = stub.modelInfer(ModelInferRequest.newBuilder().setModelName("matmul")
                .putParameters("timeout", InferParameter.newBuilder().setInt64Param(Long.MAX_VALUE).build())
                .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("X").setDatatype("FP32").addShape(1).addShape(3))
                .addRawInputContents(rawFloats(1, 1, 1)).build());
        assertThat(response.getOutputsCount()).isEqualTo(1);
    }

    @Test
    void aPriorityPastTheModelsLevelsIsItsDefaultLevelAsTritonReadsIt() {
        // tritonclient sends priority as uint64_param; matmul has one level
        var response = stub.modelInfer(ModelInferRequest.newBuilder().setModelName("matmul")
                .putParameters("priority", InferParameter.newBuilder().setUint64Param(2).build())
                .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("X").setDatatype("FP32").addShape(1).addShape(3))
                .addRawInputContents(rawFloats(1, 1, 1)).build());
        assertThat(response.getOutputsCount()).isEqualTo(1);
    }

    private static StatusRuntimeException assertStatus(Runnable call, Status.Code code, String message) {
        StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, call::run);
        assertThat(e).as("expected %s", code).isNotNull();
        assertThat(e.getStatus().getCode()).isEqualTo(code);
        if (message != null) { // the transport's own RESOURCE_EXHAUSTED carries no description
            assertThat(e.getStatus().getDescription()).contains(message);
        }
        return e;
    }

    static ModelInferRequest.InferInputTensor fp32(String name, float... values) {
        InferTensorContents.Builder c = InferTensorContents.newBuilder();
        for (float v : values) {
            c.addFp32Contents(v);
        }
        return ModelInferRequest.InferInputTensor.newBuilder().setName(name).setDatatype("FP32")
                .addShape(1).addShape(values.length).setContents(c).build();
    }

    static ByteString rawFloats(float... values) {
        return GrpcClients.rawFloats(values);
    }

    static float[] floats(ByteString raw) {
        return GrpcClients.floats(raw);
    }

    /** Four elements of {@code datatype} in wire layout. */
    static ByteString sample(String datatype) {
        ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 4; i++) {
            switch (datatype) {
                case "BOOL" -> b.put((byte) (i % 2));
                case "UINT8", "INT8" -> b.put((byte) (i * 70 - 100));
                case "INT16", "FP16", "BF16" -> b.putShort((short) (0x3C00 + i));
                case "INT32" -> b.putInt(-i * 100000);
                case "INT64" -> b.putLong(Long.MAX_VALUE - i);
                case "FP32" -> b.putFloat((float) Math.PI * i);
                case "FP64" -> b.putDouble(Math.E * i);
                default -> b.putInt(2).put(("b" + i).getBytes());
            }
        }
        return ByteString.copyFrom(b.flip());
    }

    private static ByteString rawOf(String datatype, InferTensorContents c) {
        ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 4; i++) {
            switch (datatype) {
                case "BOOL" -> b.put((byte) (c.getBoolContents(i) ? 1 : 0));
                case "UINT8" -> b.put((byte) c.getUintContents(i));
                case "INT8" -> b.put((byte) c.getIntContents(i));
                case "INT16" -> b.putShort((short) c.getIntContents(i));
                case "INT32" -> b.putInt(c.getIntContents(i));
                case "INT64" -> b.putLong(c.getInt64Contents(i));
                case "FP32" -> b.putFloat(c.getFp32Contents(i));
                case "FP64" -> b.putDouble(c.getFp64Contents(i));
                default -> b.putInt(c.getBytesContents(i).size()).put(c.getBytesContents(i).toByteArray());
            }
        }
        return ByteString.copyFrom(b.flip());
    }

    static List<Float> list(float... values) {
        List<Float> out = new java.util.ArrayList<>();
        for (float v : values) {
            out.add(v);
        }
        return out;
    }
}
