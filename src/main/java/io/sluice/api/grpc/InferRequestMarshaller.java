package io.sluice.api.grpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnknownFieldSet;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.sluice.api.grpc.proto.GRPCInferenceServiceGrpc;
import io.sluice.api.grpc.proto.ModelInferRequest;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Reads each {@code ModelInferRequest} that Quarkus's gRPC bridge takes (the {@code ModelInfer} and {@code
 * ModelStreamInfer} calls that {@link ModelInferRoute} and {@link ModelStreamRoute} leave to it) as those routes read their own: the
 * heap it would take parsed ({@link ParsedRequestSize}) is read from the wire first,
 * and a message past {@code quarkus.grpc.server.max-inbound-message-size} is refused with RESOURCE_EXHAUSTED
 * before protobuf builds it, as grpc-java refuses a message too large on the wire; one that is not a
 * {@code ModelInferRequest} gets INVALID_ARGUMENT. The bridge parses with the marshaller of the method's
 * descriptor, so {@link #bound} puts this one there. Tensors are read in place from the message's own bytes.
 *
 * <p>The bridge does not close a call whose marshaller throws (a stream would hang to its deadline), so a
 * refused message is handed on as a stand-in that carries its status in a field no client can send (a client's
 * message that has it loses it here), and the service turns the stand-in into the failure: a unary call's status
 * ({@link #refusal}, counted and failed by the service), or the status that ends a stream once the requests before it are answered ({@link #refusal}).
 */
final class InferRequestMarshaller implements MethodDescriptor.PrototypeMarshaller<ModelInferRequest> {

    /** The field of a stand-in that holds its status: protobuf's highest field number. */
    private static final int REFUSAL = (1 << 29) - 1;

    private final MethodDescriptor.Marshaller<ModelInferRequest> proto;
    private final int maxBytes;

    InferRequestMarshaller(MethodDescriptor.Marshaller<ModelInferRequest> proto, int maxBytes) {
        this.proto = proto;
        this.maxBytes = maxBytes;
    }

    /**
     * {@code service} (the inference service as bound) with the requests of {@code ModelInfer} and {@code
     * ModelStreamInfer} read by this marshaller; the other methods, the handlers and the schema are as they were.
     */
    static ServerServiceDefinition bound(ServerServiceDefinition service, int maxBytes) {
        Set<String> sized = Set.of(GRPCInferenceServiceGrpc.getModelInferMethod().getFullMethodName(),
                GRPCInferenceServiceGrpc.getModelStreamInferMethod().getFullMethodName());
        ServiceDescriptor old = service.getServiceDescriptor();
        ServiceDescriptor.Builder descriptor = ServiceDescriptor.newBuilder(old.getName())
                .setSchemaDescriptor(old.getSchemaDescriptor());
        List<ServerMethodDefinition<?, ?>> methods = new ArrayList<>();
        for (ServerMethodDefinition<?, ?> method : service.getMethods()) {
            ServerMethodDefinition<?, ?> m = sized.contains(method.getMethodDescriptor().getFullMethodName())
                    ? sized(method, maxBytes) : method;
            descriptor.addMethod(m.getMethodDescriptor());
            methods.add(m);
        }
        ServerServiceDefinition.Builder definition = ServerServiceDefinition.builder(descriptor.build());
        methods.forEach(definition::addMethod);
        return definition.build();
    }

    @SuppressWarnings("unchecked") // both methods take ModelInferRequests
    private static <R> ServerMethodDefinition<ModelInferRequest, R> sized(ServerMethodDefinition<?, ?> method, int maxBytes) {
        ServerMethodDefinition<ModelInferRequest, R> m = (ServerMethodDefinition<ModelInferRequest, R>) method;
        MethodDescriptor<ModelInferRequest, R> descriptor = m.getMethodDescriptor();
        return ServerMethodDefinition.create(descriptor.toBuilder()
                .setRequestMarshaller(new InferRequestMarshaller(descriptor.getRequestMarshaller(), maxBytes)).build(),
                m.getServerCallHandler());
    }

    @Override
    public ModelInferRequest getMessagePrototype() {
        return ModelInferRequest.getDefaultInstance();
    }

    @Override
    public Class<ModelInferRequest> getMessageClass() {
        return ModelInferRequest.class;
    }

    @Override
    public InputStream stream(ModelInferRequest value) {
        return proto.stream(value);
    }

    /**
     * The message, or a stand-in for a refused one that {@link #refusal} turns into RESOURCE_EXHAUSTED (it would take
     * more than the limit parsed, or a compressed one inflates past it) or INVALID_ARGUMENT (the bytes are not a
     * {@code ModelInferRequest}), as on {@code ModelInfer}. It never throws: the bridge would leave the call open.
     */
    @Override
    public ModelInferRequest parse(InputStream stream) {
        try {
            ModelInferRequest message = ParsedRequestSize.parse(bytes(stream), maxBytes);
            return message.getUnknownFields().hasField(REFUSAL) ? message.toBuilder().setUnknownFields(
                    UnknownFieldSet.newBuilder(message.getUnknownFields()).clearField(REFUSAL).build()).build() : message;
        } catch (ModelInferRoute.MessageTooLarge e) {
            return refused(Status.RESOURCE_EXHAUSTED, e.getMessage() + " the server's limit of " + maxBytes
                    + " bytes (quarkus.grpc.server.max-inbound-message-size)");
        } catch (InvalidProtocolBufferException e) {
            return refused(Status.INVALID_ARGUMENT, "request is not a ModelInferRequest: " + e.getMessage());
        } catch (IOException | RuntimeException | OutOfMemoryError e) {
            return refused(Status.INTERNAL, "request message unreadable: " + e);
        }
    }

    /**
     * The message's bytes, at most {@code maxBytes} of them. The bridge's stream knows its length (which the bridge
     * has held to the limit), so they are read into an array of that size at once; a compressed message's stream
     * inflates, and is read no further than the limit.
     *
     * @throws ModelInferRoute.MessageTooLarge when the message is larger than the limit (a compressed one once inflated)
     */
    private byte[] bytes(InputStream stream) throws IOException {
        if (stream instanceof KnownLength) {
            int n = stream.available();
            if (n > maxBytes) { // the bridge refuses these itself
                throw new ModelInferRoute.MessageTooLarge("request message larger than");
            }
            byte[] bytes = new byte[n];
            if (stream.readNBytes(bytes, 0, n) == n && stream.read() == -1) {
                return bytes;
            }
            throw new IOException("the message's stream did not hold the " + n + " bytes it said");
        }
        byte[] bytes = stream.readNBytes(maxBytes);
        if (stream.read() != -1) {
            throw new ModelInferRoute.MessageTooLarge("decompressed request message larger than");
        }
        return bytes;
    }

    /** The refusal {@code request} stands in for, or null for a request that was read. */
    static StatusRuntimeException refusal(ModelInferRequest request) {
        UnknownFieldSet.Field refusal = request.getUnknownFields().getField(REFUSAL);
        return refusal.getVarintList().isEmpty() ? null : Status.fromCodeValue(refusal.getVarintList().get(0).intValue())
                .withDescription(refusal.getLengthDelimitedList().get(0).toStringUtf8()).asRuntimeException();
    }

    private static ModelInferRequest refused(Status status, String description) {
        return ModelInferRequest.newBuilder().setUnknownFields(UnknownFieldSet.newBuilder()
                .addField(REFUSAL, UnknownFieldSet.Field.newBuilder()
                        .addVarint(status.getCode().value())
                        .addLengthDelimited(ByteString.copyFromUtf8(description)).build())
                .build()).build();
    }
}
