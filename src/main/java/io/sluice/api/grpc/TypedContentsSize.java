package io.sluice.api.grpc;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import java.io.IOException;

/**
 * The heap a serialized {@code ModelInferRequest}'s typed tensor contents and shapes take once protobuf has
 * parsed them, read from the wire without parsing. A packed varint takes 1 byte on the wire for a small value
 * but 8 in a parsed {@code int64_contents} list (4 for {@code int_contents}), so a 64 MiB message of zeros would
 * be half a gigabyte of heap before any check could see it; a {@code bytes_contents} element of 2 wire bytes is
 * an object of some 48 bytes. {@code raw_input_contents}, floats and booleans take what they take on the wire.
 */
final class TypedContentsSize {

    /** Heap per parsed {@code bytes_contents} element: a ByteString view and its list slot. */
    static final int BYTES_ELEMENT = 48;

    private static final int REQUEST_INPUTS = 5;
    private static final int INPUT_SHAPE = 3;
    private static final int INPUT_CONTENTS = 5;
    private static final int CONTENTS_INT32 = 2;
    private static final int CONTENTS_INT64 = 3;
    private static final int CONTENTS_UINT32 = 4;
    private static final int CONTENTS_UINT64 = 5;
    private static final int CONTENTS_BYTES = 8;

    private TypedContentsSize() {}

    /**
     * The bytes the typed contents and shapes of the message in {@code bytes[at, at + length)} take parsed.
     *
     * @throws InvalidProtocolBufferException when the message is malformed (protobuf would refuse it too)
     */
    static long of(byte[] bytes, int at, int length) throws InvalidProtocolBufferException {
        long total = 0;
        CodedInputStream in = CodedInputStream.newInstance(bytes, at, length);
        try {
            for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
                if (WireFormat.getTagFieldNumber(tag) == REQUEST_INPUTS
                        && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                    int size = length(in, length);
                    total += input(bytes, at + in.getTotalBytesRead(), size);
                    in.skipRawBytes(size);
                } else {
                    in.skipField(tag);
                }
            }
        } catch (InvalidProtocolBufferException e) {
            throw e;
        } catch (IOException e) { // an array source has no other I/O to fail
            throw new InvalidProtocolBufferException(e);
        }
        return total;
    }

    private static long input(byte[] bytes, int at, int length) throws IOException {
        long total = 0;
        CodedInputStream in = CodedInputStream.newInstance(bytes, at, length);
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            int field = WireFormat.getTagFieldNumber(tag);
            if (field == INPUT_SHAPE) {
                total += numbers(in, tag, bytes, at, length, 8);
            } else if (field == INPUT_CONTENTS && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                int size = length(in, length);
                total += contents(bytes, at + in.getTotalBytesRead(), size);
                in.skipRawBytes(size);
            } else {
                in.skipField(tag);
            }
        }
        return total;
    }

    private static long contents(byte[] bytes, int at, int length) throws IOException {
        long total = 0;
        CodedInputStream in = CodedInputStream.newInstance(bytes, at, length);
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            switch (WireFormat.getTagFieldNumber(tag)) {
                case CONTENTS_INT32, CONTENTS_UINT32 -> total += numbers(in, tag, bytes, at, length, 4);
                case CONTENTS_INT64, CONTENTS_UINT64 -> total += numbers(in, tag, bytes, at, length, 8);
                case CONTENTS_BYTES -> {
                    total += BYTES_ELEMENT;
                    in.skipField(tag);
                }
                default -> in.skipField(tag);
            }
        }
        return total;
    }

    /** A length-delimited field's length, read at {@code in}, which reads a message of {@code messageLength} bytes. */
    private static int length(CodedInputStream in, int messageLength) throws IOException {
        int size = in.readRawVarint32();
        if (size < 0 || size > messageLength - in.getTotalBytesRead()) {
            throw new InvalidProtocolBufferException("a length-delimited field runs past its message");
        }
        return size;
    }

    /**
     * The parsed size of one occurrence of a repeated varint field: a packed run, whose elements are the bytes
     * that end a varint (high bit clear), or a single unpacked element.
     */
    private static long numbers(CodedInputStream in, int tag, byte[] bytes, int at, int messageLength, int width)
            throws IOException {
        if (WireFormat.getTagWireType(tag) != WireFormat.WIRETYPE_LENGTH_DELIMITED) {
            in.skipField(tag);
            return width;
        }
        int size = length(in, messageLength);
        int start = at + in.getTotalBytesRead();
        long elements = 0;
        for (int i = start; i < start + size; i++) {
            if (bytes[i] >= 0) {
                elements++;
            }
        }
        in.skipRawBytes(size);
        return elements * width;
    }
}
