package io.sluice.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.sluice.api.grpc.proto.InferParameter;
import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.api.grpc.proto.ModelInferResponse;
import io.sluice.inference.InferRequest;
import io.vertx.core.buffer.Buffer;
import java.nio.ByteBuffer;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** What {@link ModelInferRoute} writes and reads on the wire, checked against grpc-java's own readings. */
class GrpcWireTest {

    @Test
    void aResponseIsFramedAsItsPrefixThenTheWholeMessageWithItsOutputsBytesWrappedNotCopied() throws Exception {
        byte[] big = new byte[70_000]; // a three-byte length
        big[0] = 7;
        big[big.length - 1] = 9;
        // a read-only view of 4 bytes, as a batch's piece of an output is, and a direct buffer
        ByteBuffer small = ByteBuffer.wrap(new byte[] {0, 1, 2, 3, 4, 5}).asReadOnlyBuffer().position(2);
        ByteBuffer direct = ByteBuffer.allocateDirect(3).put(new byte[] {8, 9, 10}).flip();
        ModelInferResponse head = ModelInferResponse.newBuilder().setModelName("m").setId("r1")
                .putParameters("sluice_cache", InferParameter.newBuilder().setStringParam("miss").build())
                .addOutputs(ModelInferResponse.InferOutputTensor.newBuilder().setName("a").setDatatype("UINT8").addShape(70_000))
                .addOutputs(ModelInferResponse.InferOutputTensor.newBuilder().setName("b").setDatatype("UINT8").addShape(4))
                .addOutputs(ModelInferResponse.InferOutputTensor.newBuilder().setName("c").setDatatype("UINT8").addShape(3))
                .build();
        ByteBuf framed = GrpcWire.frame(head, List.of(ByteBuffer.wrap(big), small, direct));

        ModelInferResponse whole = head.toBuilder().addRawOutputContents(ByteString.copyFrom(big))
                .addRawOutputContents(ByteString.copyFrom(new byte[] {2, 3, 4, 5}))
                .addRawOutputContents(ByteString.copyFrom(new byte[] {8, 9, 10})).build();
        assertThat(ByteBufUtil.getBytes(framed)).isEqualTo(framed(whole));
        assertThat(small.position()).isEqualTo(2); // the caller's buffers are left as they were
        assertThat(direct.position()).isZero();
        big[1] = 42; // the answer holds the output's own bytes, not a copy of them
        int bigStart = framed.readableBytes() - (2 + 3) - (2 + 4) - 70_000;
        assertThat(framed.getByte(bigStart + 1)).isEqualTo((byte) 42);
        assertThat(ByteBufUtil.getBytes(GrpcWire.frame(head, List.of()))).isEqualTo(framed(head));
    }

    /** {@code message} as grpc-java frames it: not compressed, its length big-endian, its bytes. */
    private static byte[] framed(MessageLite message) {
        byte[] bytes = message.toByteArray();
        return Buffer.buffer().appendByte((byte) 0).appendInt(bytes.length).appendBytes(bytes).getBytes();
    }

    @Test
    void theOneRequestMessageIsReadWithItsTensorsAndAnythingElseIsNamed() throws Exception {
        ModelInferRequest request = ModelInferRequest.newBuilder().setModelName("matmul")
                .addRawInputContents(ByteString.copyFrom(new byte[] {1, 2, 3})).build();
        Buffer body = Buffer.buffer(framed(request));

        assertThat(ModelInferRoute.message(body)).isEqualTo(request);
        assertThatThrownBy(() -> ModelInferRoute.message(Buffer.buffer()))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("no request message");
        assertThatThrownBy(() -> ModelInferRoute.message(body.getBuffer(0, 3)))
                .hasMessage("incomplete message prefix");
        assertThatThrownBy(() -> ModelInferRoute.message(body.getBuffer(0, body.length() - 1)))
                .hasMessage("request message cut short");
        assertThatThrownBy(() -> ModelInferRoute.message(body.copy().appendBuffer(body)))
                .hasMessage("more than one request message in a unary call");
        Buffer compressed = body.copy();
        compressed.setByte(0, (byte) 1);
        assertThatThrownBy(() -> ModelInferRoute.message(compressed))
                .hasMessage("compressed message without a grpc-encoding");
        Buffer reserved = body.copy();
        reserved.setByte(0, (byte) 2);
        assertThatThrownBy(() -> ModelInferRoute.message(reserved, "gzip", Integer.MAX_VALUE))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("message prefix flag 2 has reserved bits set");
        Buffer garbage = Buffer.buffer().appendByte((byte) 0).appendInt(3).appendBytes(new byte[] {(byte) 0xff, 0x7f, 0});
        assertThatThrownBy(() -> ModelInferRoute.message(garbage)).isInstanceOf(InvalidProtocolBufferException.class);
        // a stray end-group tag (0x0c) ends parsing early: refused, as grpc-java refuses it, not read as half a message
        byte[] endGroup = {0x0a, 0x06, 'm', 'a', 't', 'm', 'u', 'l', 0x0c, 0x12, 0x01, 'x'};
        Buffer stray = Buffer.buffer().appendByte((byte) 0).appendInt(endGroup.length).appendBytes(endGroup);
        assertThatThrownBy(() -> ModelInferRoute.message(stray)).isInstanceOf(InvalidProtocolBufferException.class);
    }

    /** {@code message} gzipped and framed with the compressed flag, as a grpc-java client with gzip sends it. */
    private static Buffer gzipped(byte[] message) throws java.io.IOException {
        java.io.ByteArrayOutputStream zipped = new java.io.ByteArrayOutputStream();
        try (java.util.zip.GZIPOutputStream out = new java.util.zip.GZIPOutputStream(zipped)) {
            out.write(message);
        }
        return Buffer.buffer().appendByte((byte) 1).appendInt(zipped.size()).appendBytes(zipped.toByteArray());
    }

    @Test
    void aMessageSentInTinyFramesIsHeldInOneArrayOfAboutItsSize() throws Exception {
        ModelInferRequest request = ModelInferRequest.newBuilder().setModelName("matmul")
                .addRawInputContents(ByteString.copyFrom(new byte[100_000])).build();
        byte[] framed = framed(request);
        ModelInferRoute.Received received = new ModelInferRoute.Received();
        for (int i = 0; i < framed.length; i++) { // one byte per DATA frame
            received.append(Buffer.buffer(new byte[] {framed[i]}));
            if (i == 4) {
                received.expected = framed.length; // as the route sets it once the prefix is in
            }
        }
        assertThat(received.length).isEqualTo(framed.length);
        assertThat(received.declared()).isEqualTo(request.getSerializedSize());
        assertThat(received.bytes.length).isEqualTo(framed.length); // grown by doubling, never past the message
        assertThat(ModelInferRoute.message(received.bytes, received.length, null, Integer.MAX_VALUE)).isEqualTo(request);
    }

    @Test
    void aGzipMessageIsInflatedWithinTheLimit() throws Exception {
        ModelInferRequest request = ModelInferRequest.newBuilder().setModelName("matmul")
                .addRawInputContents(ByteString.copyFrom(new byte[1000])).build();
        Buffer body = gzipped(request.toByteArray());
        assertThat(body.length()).isLessThan(request.getSerializedSize());

        assertThat(ModelInferRoute.message(body, "gzip", request.getSerializedSize())).isEqualTo(request);
        assertThatThrownBy(() -> ModelInferRoute.message(body, "gzip", request.getSerializedSize() - 1))
                .isInstanceOf(ModelInferRoute.MessageTooLarge.class);
        assertThatThrownBy(() -> ModelInferRoute.message(body, null, Integer.MAX_VALUE))
                .hasMessage("compressed message without a grpc-encoding");
        Buffer broken = body.copy();
        broken.setByte(GrpcWire.PREFIX + 12, (byte) ~broken.getByte(GrpcWire.PREFIX + 12));
        assertThatThrownBy(() -> ModelInferRoute.message(broken, "gzip", Integer.MAX_VALUE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("gzip request message does not inflate");
        // a gzip call may still send a message uncompressed
        assertThat(ModelInferRoute.message(Buffer.buffer(framed(request)), "gzip", Integer.MAX_VALUE)).isEqualTo(request);
        // bytes after the gzip data, inside the message's declared length: the JDK's stream dropped them
        byte[] zipped = body.getBytes(GrpcWire.PREFIX, body.length());
        Buffer trailing = Buffer.buffer().appendByte((byte) 1).appendInt(zipped.length + 3).appendBytes(zipped)
                .appendBytes(new byte[] {1, 2, 3});
        assertThatThrownBy(() -> ModelInferRoute.message(trailing, "gzip", Integer.MAX_VALUE))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("gzip request message does not inflate: 3 bytes after the gzip data are not another gzip member");
    }

    @Test
    void aDeflateMessageIsInflatedWithinTheLimit() throws Exception {
        ModelInferRequest request = ModelInferRequest.newBuilder().setModelName("matmul")
                .addRawInputContents(ByteString.copyFrom(new byte[1000])).build();
        java.io.ByteArrayOutputStream zipped = new java.io.ByteArrayOutputStream();
        try (java.util.zip.DeflaterOutputStream out = new java.util.zip.DeflaterOutputStream(zipped)) {
            out.write(request.toByteArray());
        }
        Buffer body = Buffer.buffer().appendByte((byte) 1).appendInt(zipped.size()).appendBytes(zipped.toByteArray());

        assertThat(ModelInferRoute.message(body, "deflate", request.getSerializedSize())).isEqualTo(request);
        assertThatThrownBy(() -> ModelInferRoute.message(body, "deflate", request.getSerializedSize() - 1))
                .isInstanceOf(ModelInferRoute.MessageTooLarge.class);
        // cut short inside the zlib stream, and gzip's format on a deflate call: neither inflates
        byte[] cut = java.util.Arrays.copyOf(zipped.toByteArray(), zipped.size() - 6);
        assertThatThrownBy(() -> ModelInferRoute.message(
                Buffer.buffer().appendByte((byte) 1).appendInt(cut.length).appendBytes(cut), "deflate", Integer.MAX_VALUE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("deflate request message does not inflate");
        assertThatThrownBy(() -> ModelInferRoute.message(gzipped(request.toByteArray()), "deflate", Integer.MAX_VALUE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("deflate request message does not inflate");
    }

    @Test
    void grpcTimeoutsInEveryUnit() {
        assertThat(GrpcWire.timeoutNanos("1H")).isEqualTo(TimeUnit.HOURS.toNanos(1));
        assertThat(GrpcWire.timeoutNanos("2M")).isEqualTo(TimeUnit.MINUTES.toNanos(2));
        assertThat(GrpcWire.timeoutNanos("30S")).isEqualTo(TimeUnit.SECONDS.toNanos(30));
        assertThat(GrpcWire.timeoutNanos("29999m")).isEqualTo(TimeUnit.MILLISECONDS.toNanos(29_999));
        assertThat(GrpcWire.timeoutNanos("99999999u")).isEqualTo(TimeUnit.MICROSECONDS.toNanos(99_999_999));
        assertThat(GrpcWire.timeoutNanos("5n")).isEqualTo(5);
        assertThat(GrpcWire.timeoutNanos("0m")).isZero();
        // the spec allows 8 digits of hours, past what nanoseconds hold: no deadline, never one already passed
        assertThat(GrpcWire.timeoutNanos("99999999H")).isEqualTo(Long.MAX_VALUE);
        assertThat(InferRequest.deadlineAfterNanos(System.nanoTime(), GrpcWire.timeoutNanos("99999999H")))
                .isEqualTo(InferRequest.NO_DEADLINE);
        assertThat(InferRequest.deadlineAfterNanos(Long.MAX_VALUE - 10, TimeUnit.HOURS.toNanos(2562047)))
                .isEqualTo(InferRequest.NO_DEADLINE);
        for (String bad : new String[] {"", "m", "100", "100x", "-1m", "123456789m", "1.5S"}) {
            assertThat(GrpcWire.timeoutNanos(bad)).as(bad).isEqualTo(-1);
        }
    }

    @Test
    void grpcMessageIsPercentEncodedUtf8AndBinaryHeadersAreUnpaddedBase64() {
        String text = "model 'm' is at capacity: 100% full \u2014 retry later";
        String encoded = GrpcWire.message(text);

        assertThat(encoded).isEqualTo("model 'm' is at capacity: 100%25 full %E2%80%94 retry later");
        assertThat(java.net.URLDecoder.decode(encoded, java.nio.charset.StandardCharsets.UTF_8)).isEqualTo(text);
        assertThat(GrpcWire.message("line\nbreak")).isEqualTo("line%0Abreak");
        assertThat(GrpcWire.binary(new byte[] {1})).isEqualTo("AQ");
        assertThat(Base64.getDecoder().decode(GrpcWire.binary(new byte[] {1, 2, 3, 4}))).containsExactly(1, 2, 3, 4);
    }
}
