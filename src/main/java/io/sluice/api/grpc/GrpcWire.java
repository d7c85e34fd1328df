package io.sluice.api.grpc;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.MessageLite;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.concurrent.TimeUnit;

/**
 * The parts of gRPC over HTTP/2 that {@link ModelInferRoute} writes and reads itself: the 5-byte message
 * prefix, the {@code grpc-timeout} header, and the {@code grpc-message} and {@code grpc-status-details-bin}
 * trailers, as the gRPC HTTP/2 protocol document defines them.
 */
final class GrpcWire {
    /** Length of the prefix of every message: a compressed flag and a big-endian length. */
    static final int PREFIX = 5;

    private GrpcWire() {
    }

    /** {@code message} with its prefix (not compressed), encoded once into an array of exactly its size. */
    static byte[] frame(MessageLite message) {
        int size = message.getSerializedSize();
        byte[] bytes = new byte[PREFIX + size];
        bytes[1] = (byte) (size >>> 24);
        bytes[2] = (byte) (size >>> 16);
        bytes[3] = (byte) (size >>> 8);
        bytes[4] = (byte) size;
        CodedOutputStream out = CodedOutputStream.newInstance(bytes, PREFIX, size);
        try {
            message.writeTo(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // an array of the exact size never runs out
        }
        out.checkNoSpaceLeft();
        return bytes;
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
