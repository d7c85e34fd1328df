package io.sluice.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import io.sluice.api.grpc.proto.InferParameter;
import io.sluice.api.grpc.proto.InferTensorContents;
import io.sluice.api.grpc.proto.ModelInferRequest;
import io.vertx.core.buffer.Buffer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Collections;
import org.junit.jupiter.api.Test;

/**
 * The heap a request takes once parsed beyond its bytes, read from the wire: packed varints of one byte grow to 8
 * (or 4), and elements of 2 or 3 bytes become objects, so a message within the size limit could parse into many
 * times it. The route and the bridge refuse such a message before protobuf parses it, as they refuse one that
 * inflates past the limit.
 */
class ParsedRequestSizeTest {

    @Test
    void packedIntegersCountAtTheirParsedWidthAndTheRestAsOnTheWire() throws Exception {
        ModelInferRequest request = ModelInferRequest.newBuilder().setModelName("m")
                .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("a").setDatatype("INT64")
                        .addShape(1).addShape(1000)
                        .setContents(InferTensorContents.newBuilder()
                                .addAllInt64Contents(Collections.nCopies(1000, 0L))
                                .addAllIntContents(Collections.nCopies(10, 300)) // 2 wire bytes each, 4 parsed
                                .addAllFp32Contents(Collections.nCopies(50, 1f))
                                .addBytesContents(ByteString.EMPTY).addBytesContents(ByteString.copyFromUtf8("x"))))
                .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("b").addShape(7))
                .addRawInputContents(ByteString.copyFrom(new byte[4096]))
                .build();
        byte[] bytes = request.toByteArray();

        // two inputs and a raw element are objects too
        long expected = 2 * 8 + 1000 * 8 + 10 * 4 + 2 * ParsedRequestSize.ELEMENT + 8 + 3 * ParsedRequestSize.ELEMENT;
        assertThat(ParsedRequestSize.of(bytes, 0, bytes.length)).isEqualTo(expected);
        assertThat(ParsedRequestSize.of(ModelInferRequest.getDefaultInstance().toByteArray(), 0, 0)).isZero();
    }

    @Test
    void parametersOutputsAndFieldsProtobufKeepsAsUnknownCountAsObjects() throws IOException {
        ModelInferRequest known = ModelInferRequest.newBuilder().setModelName("m").setId("i")
                .putParameters("a", InferParameter.newBuilder().setBoolParam(true).build())
                .addOutputs(ModelInferRequest.InferRequestedOutputTensor.newBuilder().setName("o")
                        .putParameters("c", InferParameter.newBuilder().setInt64Param(3).build()))
                .build();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        known.writeTo(out);
        CodedOutputStream c = CodedOutputStream.newInstance(out);
        c.writeUInt64(99, 1); // a field the message does not have: kept as unknown
        c.writeUInt64(5, 1); // inputs, but as a varint: kept as unknown too
        // a parameter whose value holds a field InferParameter does not have
        ByteArrayOutputStream value = new ByteArrayOutputStream();
        CodedOutputStream v = CodedOutputStream.newInstance(value);
        v.writeBool(1, true);
        v.writeUInt64(77, 1);
        v.flush();
        ByteArrayOutputStream entry = new ByteArrayOutputStream();
        CodedOutputStream e = CodedOutputStream.newInstance(entry);
        e.writeString(1, "b");
        e.writeByteArray(2, value.toByteArray());
        e.flush();
        c.writeByteArray(4, entry.toByteArray());
        c.flush();
        byte[] bytes = out.toByteArray();

        long p = ParsedRequestSize.PARAMETER;
        long o = ParsedRequestSize.ELEMENT;
        assertThat(ParsedRequestSize.of(bytes, 0, bytes.length)).isEqualTo(p + (o + p) + o + o + (p + o));
        assertThat(ModelInferRequest.parseFrom(bytes).getUnknownFields().asMap()).containsOnlyKeys(99, 5);
    }

    @Test
    void aContentsFieldWithAnotherWireTypeCountsAsAnObject() throws IOException {
        ByteArrayOutputStream contents = new ByteArrayOutputStream();
        CodedOutputStream c = CodedOutputStream.newInstance(contents);
        c.writeUInt64(6, 1); // fp32_contents as a varint: protobuf keeps it as an unknown field
        c.writeFixed64(3, 1); // int64_contents as a fixed64: the same
        c.writeFloat(6, 1f); // an unpacked float: 4 bytes, as on the wire
        c.flush();
        byte[] request = wrap(wrap(contents.toByteArray(), 5), 5);

        assertThat(ParsedRequestSize.of(request, 0, request.length)).isEqualTo(3 * ParsedRequestSize.ELEMENT);
    }

    @Test
    void anUnpackedElementCountsOnceAndATruncatedRunIsMalformed() throws IOException {
        ByteArrayOutputStream contents = new ByteArrayOutputStream();
        CodedOutputStream c = CodedOutputStream.newInstance(contents);
        c.writeInt64(3, 5); // int64_contents, unpacked, as a proto2 writer may send it
        c.writeInt64(3, 6);
        c.flush();
        byte[] request = wrap(wrap(contents.toByteArray(), 5), 5);
        assertThat(ParsedRequestSize.of(request, 0, request.length)).isEqualTo(16 + ParsedRequestSize.ELEMENT);

        byte[] cut = {0x2a, 0x04, 0x2a, 0x02, 0x1a, 0x09}; // inputs { contents { int64_contents: 9 bytes claimed, none there } }
        assertThatThrownBy(() -> ParsedRequestSize.of(cut, 0, cut.length)).isInstanceOf(InvalidProtocolBufferException.class);
        byte[] overlong = {0x2a, 0x7f, 0x0a, 0x01}; // inputs claiming 127 bytes of a 4-byte message
        assertThatThrownBy(() -> ParsedRequestSize.of(overlong, 0, overlong.length))
                .isInstanceOf(InvalidProtocolBufferException.class).hasMessageContaining("runs past its message");
        byte[] framed = {0x00, 0x2a, 0x02, 0x2a, 0x7f, 0x00}; // the same inside a larger array: the bound is the message's
        assertThatThrownBy(() -> ParsedRequestSize.of(framed, 1, 4)).isInstanceOf(InvalidProtocolBufferException.class);
    }

    @Test
    void theRouteRefusesAMessageWhoseContentsWouldParsePastTheLimit() throws Exception {
        ModelInferRequest request = ModelInferRequest.newBuilder().setModelName("m")
                .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("a").setDatatype("INT64")
                        .addShape(100_000).setContents(InferTensorContents.newBuilder()
                                .addAllInt64Contents(Collections.nCopies(100_000, 0L))))
                .build();
        byte[] bytes = request.toByteArray();
        Buffer body = Buffer.buffer().appendByte((byte) 0).appendInt(bytes.length).appendBytes(bytes);
        int limit = bytes.length * 2; // the message fits; its 800 KB of parsed longs do not

        assertThatThrownBy(() -> ModelInferRoute.message(body, null, limit))
                .isInstanceOf(ModelInferRoute.MessageTooLarge.class)
                .hasMessage("request, once parsed, would take more than");
        assertThat(ModelInferRoute.message(body, null, 1 << 20)).isEqualTo(request);
    }

    /** {@code payload} as length-delimited field {@code field} of a message. */
    private static byte[] wrap(byte[] payload, int field) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CodedOutputStream c = CodedOutputStream.newInstance(out);
        c.writeByteArray(field, payload);
        c.flush();
        return out.toByteArray();
    }
}
