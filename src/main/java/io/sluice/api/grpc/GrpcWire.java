package io.sluice.api.grpc;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;
import io.grpc.StatusException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.sluice.api.grpc.proto.ModelInferResponse;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The parts of gRPC over HTTP/2 that {@link ModelInferRoute} writes and reads itself (and {@link GrpcEncodings}
 * its trailers-only refusal): the 5-byte message prefix, the {@code grpc-timeout} header, and the
 * {@code grpc-message} and {@code grpc-status-details-bin} trailers, as the gRPC HTTP/2 protocol document
 * defines them.
 */
final class GrpcWire {
    /** Length of the prefix of every message: a compressed flag and a big-endian length. */
    static final int PREFIX = 5;
    /** Length of {@code raw_output_contents}' field tag. */
    private static final int RAW_TAG_SIZE = CodedOutputStream.computeTagSize(
            ModelInferResponse.RAW_OUTPUT_CONTENTS_FIELD_NUMBER);

    private GrpcWire() {
    }

    /**
     * A trailers-only answer before the request is read; what the client still sends resets the stream (NO_ERROR),
     * as gRPC servers do.
     */
    static void answerEarly(HttpServerRequest request, io.grpc.Status status) {
        HttpServerResponse response = request.response();
        response.putHeader("content-type", "application/grpc");
        response.putHeader("grpc-status", Integer.toString(status.getCode().value()));
        response.putHeader("grpc-message", message(status.getDescription()));
        response.end();
        if (!request.isEnded()) {
            request.handler(data -> {
                request.handler(null);
                response.reset(0);
            });
        }
    }

    /**
     * Ends {@code response} with the status {@link GrpcErrors} gives {@code failure} (OK for null), RetryInfo and
     * pushback included: in its trailers after messages, or as a trailers-only answer before any. A stream the client
     * reset meanwhile is left as it is: there is no one to tell.
     *
     * @return the end's write, done once the status has gone to the socket (after every message before it)
     */
    static io.vertx.core.Future<Void> end(HttpServerResponse response, Throwable failure) {
        StatusException e = failure == null ? io.grpc.Status.OK.asException() : GrpcErrors.toStatus(failure);
        io.grpc.Status status = e.getStatus();
        com.google.rpc.Status details = e.getTrailers() == null ? null : e.getTrailers().get(GrpcErrors.STATUS_DETAILS);
        String pushback = e.getTrailers() == null ? null : e.getTrailers().get(GrpcErrors.RETRY_PUSHBACK);
        try {
            boolean trailers = response.headWritten();
            java.util.function.BiConsumer<String, String> put = trailers ? response::putTrailer : response::putHeader;
            if (!trailers) {
                response.putHeader("content-type", "application/grpc");
            }
            put.accept("grpc-status", Integer.toString(status.getCode().value()));
            if (status.getDescription() != null) {
                put.accept("grpc-message", message(status.getDescription()));
            }
            if (details != null) {
                put.accept("grpc-status-details-bin", binary(details.toByteArray()));
            }
            if (pushback != null) {
                put.accept(GrpcErrors.RETRY_PUSHBACK.name(), pushback);
            }
            return response.end();
        } catch (IllegalStateException streamGone) {
            // reset by the client while the answer was being written
            return io.vertx.core.Future.failedFuture(streamGone);
        }
    }

    /** Writes the prefix of a message of {@code size} bytes, not compressed, at the start of {@code bytes}. */
    static void prefix(byte[] bytes, int size) {
        bytes[0] = 0;
        bytes[1] = (byte) (size >>> 24);
        bytes[2] = (byte) (size >>> 16);
        bytes[3] = (byte) (size >>> 8);
        bytes[4] = (byte) size;
    }

    /**
     * {@code head} with {@code rawOutputs} as its {@code raw_output_contents}, prefixed, for the socket: the
     * other fields encoded once into an array, then each output as its field tag, its length and its own
     * bytes, wrapped rather than copied. Protobuf writes fields in number order and {@code
     * raw_output_contents} is the last, so the bytes are those of the whole message encoded at once.
     *
     * @throws IllegalArgumentException when the message would be 2 GiB or more, which protobuf cannot carry
     */
    static ByteBuf frame(ModelInferResponse head, List<ByteBuffer> rawOutputs) {
        int headSize = head.getSerializedSize();
        long size = headSize;
        byte[][] fieldStarts = new byte[rawOutputs.size()][];
        for (int i = 0; i < fieldStarts.length; i++) {
            int length = rawOutputs.get(i).remaining();
            byte[] start = new byte[RAW_TAG_SIZE + CodedOutputStream.computeUInt32SizeNoTag(length)];
            CodedOutputStream out = CodedOutputStream.newInstance(start);
            try {
                out.writeTag(ModelInferResponse.RAW_OUTPUT_CONTENTS_FIELD_NUMBER, WireFormat.WIRETYPE_LENGTH_DELIMITED);
                out.writeUInt32NoTag(length);
            } catch (IOException e) {
                throw new UncheckedIOException(e); // sized exactly
            }
            fieldStarts[i] = start;
            size += start.length + (long) length;
        }
        if (size > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("the response message would be " + size
                    + " bytes; a protobuf message holds less than 2 GiB");
        }
        byte[] front = new byte[PREFIX + headSize];
        prefix(front, (int) size);
        CodedOutputStream out = CodedOutputStream.newInstance(front, PREFIX, headSize);
        try {
            head.writeTo(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        out.checkNoSpaceLeft();
        CompositeByteBuf framed = Unpooled.compositeBuffer(1 + 2 * fieldStarts.length);
        framed.addComponent(true, Unpooled.wrappedBuffer(front));
        for (int i = 0; i < fieldStarts.length; i++) {
            framed.addComponent(true, Unpooled.wrappedBuffer(fieldStarts[i]));
            framed.addComponent(true, Unpooled.wrappedBuffer(rawOutputs.get(i).duplicate()));
        }
        return framed;
    }

    /**
     * The {@code grpc-timeout} header in nanoseconds: at most 8 digits and a unit ({@code H M S m u n}); -1
     * for a value that is not one.
     */
    static long timeoutNanos(String header) {
        int n = header.length();
        if (n < 2 || n > 9) {
            return -1;
        }
        long amount = 0;
        for (int i = 0; i < n - 1; i++) {
            char c = header.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            amount = amount * 10 + (c - '0');
        }
        return switch (header.charAt(n - 1)) {
            case 'H' -> TimeUnit.HOURS.toNanos(amount);
            case 'M' -> TimeUnit.MINUTES.toNanos(amount);
            case 'S' -> TimeUnit.SECONDS.toNanos(amount);
            case 'm' -> TimeUnit.MILLISECONDS.toNanos(amount);
            case 'u' -> TimeUnit.MICROSECONDS.toNanos(amount);
            case 'n' -> amount;
            default -> -1;
        };
    }

    /** {@code grpc-message}: UTF-8, with every byte outside printable ASCII, and '%', percent-encoded. */
    static String message(String text) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        StringBuilder out = new StringBuilder(utf8.length);
        for (byte b : utf8) {
            int c = b & 0xff;
            if (c >= 0x20 && c <= 0x7e && c != '%') {
                out.append((char) c);
            } else {
                out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            }
        }
        return out.toString();
    }

    /** A binary ({@code -bin}) header's value: base64 without padding, as grpc-java writes them. */
    static String binary(byte[] value) {
        return Base64.getEncoder().withoutPadding().encodeToString(value);
    }
}
