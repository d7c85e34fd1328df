package io.sluice.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.KnownLength;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.sluice.api.grpc.proto.GRPCInferenceServiceGrpc;
import io.sluice.api.grpc.proto.InferTensorContents;
import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.api.grpc.proto.MutinyGRPCInferenceServiceGrpc;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The bridged {@code ModelInfer} and {@code ModelStreamInfer} request marshaller: sized before parsing, refusals handed on as stand-ins. */
class InferRequestMarshallerTest {

    private static final ServerServiceDefinition SERVICE =
            new MutinyGRPCInferenceServiceGrpc.GRPCInferenceServiceImplBase() {}.bindService();

    @Test
    void onlyTheInferMethodsRequestMarshallersChange() {
        ServerServiceDefinition bound = InferRequestMarshaller.bound(SERVICE, 1 << 20);

        assertThat(bound.getServiceDescriptor().getName()).isEqualTo(SERVICE.getServiceDescriptor().getName());
        assertThat(bound.getServiceDescriptor().getSchemaDescriptor()).isSameAs(SERVICE.getServiceDescriptor().getSchemaDescriptor());
        assertThat(bound.getMethods()).hasSameSizeAs(SERVICE.getMethods());
        for (ServerMethodDefinition<?, ?> m : SERVICE.getMethods()) {
            ServerMethodDefinition<?, ?> b = bound.getMethod(m.getMethodDescriptor().getFullMethodName());
            assertThat(b.getServerCallHandler()).isSameAs(m.getServerCallHandler());
            boolean infer = m.getMethodDescriptor().getFullMethodName().matches(".*/Model(Stream)?Infer");
            assertThat(b.getMethodDescriptor().getRequestMarshaller() instanceof InferRequestMarshaller).isEqualTo(infer);
            assertThat(b.getMethodDescriptor().getResponseMarshaller()).isSameAs(m.getMethodDescriptor().getResponseMarshaller());
        }
    }

    @Test
    void aMessageWithinTheLimitIsParsedAndAdmitted() {
        ModelInferRequest request = zeros(1000); // 8000 bytes parsed beyond its own, with its input
        int limit = 8000 + ParsedRequestSize.ELEMENT;

        for (InputStream stream : List.of(new Known(request.toByteArray()), new ByteArrayInputStream(request.toByteArray()))) {
            ModelInferRequest parsed = marshaller(limit).parse(stream);
            assertThat(parsed).isEqualTo(request);
            assertThat(InferRequestMarshaller.refusal(parsed)).isNull();
        }
    }

    @Test
    void aStreamOfUnknownLengthIsReadNoFurtherThanTheLimit() {
        ModelInferRequest request = ModelInferRequest.newBuilder().setModelName("m")
                .addRawInputContents(com.google.protobuf.ByteString.copyFrom(new byte[9000])).build();

        ModelInferRequest standIn = marshaller(8000).parse(new ByteArrayInputStream(request.toByteArray()));

        Status status = InferRequestMarshaller.refusal(standIn).getStatus();
        assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(status.getDescription()).isEqualTo("decompressed request message larger than the server's limit of 8000"
                + " bytes (quarkus.grpc.server.max-inbound-message-size)");
    }

    /** A stream that knows its length, as the bridge's does. */
    private static final class Known extends ByteArrayInputStream implements KnownLength {
        Known(byte[] bytes) {
            super(bytes);
        }
    }

    @Test
    void aMessageWhoseContentsWouldParsePastTheLimitIsAStandInForResourceExhausted() {
        ModelInferRequest request = zeros(1001); // 1001 wire bytes of contents, 8008 parsed, and its input

        ModelInferRequest standIn = marshaller(8000 + ParsedRequestSize.ELEMENT).parse(new ByteArrayInputStream(request.toByteArray()));

        assertThat(standIn.getInputsCount()).isZero();
        Status status = InferRequestMarshaller.refusal(standIn).getStatus();
        assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(status.getDescription()).isEqualTo("request, once parsed, would take more than the server's limit"
                + " of " + (8000 + ParsedRequestSize.ELEMENT) + " bytes (quarkus.grpc.server.max-inbound-message-size)");
    }

    @Test
    void bytesThatAreNotAModelInferRequestAreAStandInForInvalidArgument() {
        ModelInferRequest standIn = marshaller(8000).parse(new ByteArrayInputStream(new byte[] {0x0A, 0x7F, 'x'}));

        Status status = InferRequestMarshaller.refusal(standIn).getStatus();
        assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(status.getDescription()).startsWith("request is not a ModelInferRequest: ");
    }

    private static InferRequestMarshaller marshaller(int maxBytes) {
        return new InferRequestMarshaller(GRPCInferenceServiceGrpc.getModelStreamInferMethod().getRequestMarshaller(), maxBytes);
    }

    private static ModelInferRequest zeros(int n) {
        return ModelInferRequest.newBuilder().setModelName("m").addInputs(ModelInferRequest.InferInputTensor.newBuilder()
                .setName("a").setDatatype("INT64").setContents(InferTensorContents.newBuilder()
                        .addAllInt64Contents(Collections.nCopies(n, 0L)))).build();
    }
}
