package io.sluice.api.grpc;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnsafeByteOperations;
import io.netty.buffer.ByteBuf;
import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.inference.InferRequest;
import io.sluice.inference.InferResponse;
import io.sluice.inference.ModelMetadata;
import io.sluice.inference.Tensor;
import io.sluice.inference.WireWarmup;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The gRPC adapter's part of warmup ({@link WireWarmup}): {@code ModelInfer}'s message framed as a client sends it,
 * with {@code raw_input_contents} (as Triton's clients send tensors), read by {@link ModelInferRoute} and {@link
 * GrpcTensors}, and the answer framed by {@link GrpcWire}.
 */
@ApplicationScoped
public class GrpcWireWarmup implements WireWarmup {

    @Override
    public String protocol() {
        return "gRPC";
    }

    @Override
    public void warm(ModelMetadata metadata, InferRequest request, InferResponse answer) {
        byte[] framed = framed(message(request));
        ModelInferRequest read;
        try {
            read = ModelInferRoute.message(framed, framed.length, null, Integer.MAX_VALUE);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("the warmup's own message did not parse: " + e.getMessage(), e);
        }
        GrpcTensors.request(read, InferRequest.NO_DEADLINE);
        ByteBuf out = GrpcWire.frame(GrpcInferenceService.responseHead(answer),
                answer.outputs().stream().map(Tensor::data).toList());
        out.release();
    }

    /** The message a client sends for {@code request}. */
    static ModelInferRequest message(InferRequest request) {
        ModelInferRequest.Builder msg = ModelInferRequest.newBuilder().setModelName(request.model());
        if (request.version() != null) {
            msg.setModelVersion(request.version());
        }
        for (Tensor in : request.inputs()) {
            ModelInferRequest.InferInputTensor.Builder tensor = msg.addInputsBuilder()
                    .setName(in.name()).setDatatype(in.datatype().name());
            for (long d : in.shape()) {
                tensor.addShape(d);
            }
            msg.addRawInputContents(UnsafeByteOperations.unsafeWrap(in.view()));
        }
        return msg.build();
    }

    /** {@code msg} with gRPC's five-byte prefix, uncompressed. */
    static byte[] framed(ModelInferRequest msg) {
        byte[] bytes = new byte[GrpcWire.PREFIX + msg.getSerializedSize()];
        GrpcWire.prefix(bytes, msg.getSerializedSize());
        CodedOutputStream out = CodedOutputStream.newInstance(bytes, GrpcWire.PREFIX, bytes.length - GrpcWire.PREFIX);
        try {
            msg.writeTo(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // sized exactly
        }
        out.checkNoSpaceLeft();
        return bytes;
    }
}
