package io.sluice.api.grpc;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import io.sluice.api.grpc.proto.ModelInferRequest;
import java.io.IOException;

/**
 * The heap a serialized {@code ModelInferRequest} takes once protobuf has parsed it, beyond its own bytes, read from
 * the wire without parsing. A message within the size limit could otherwise parse into many times it:
 * <ul>
 *   <li>a packed varint takes 1 byte on the wire but 8 in a parsed {@code int64_contents} list (4 for {@code
 *       int_contents}), so 64 MiB of zeros would be half a gigabyte;
 *   <li>each element that becomes an object (a {@code bytes_contents} or {@code raw_input_contents} element, an
 *       input or output, a field protobuf does not know, which it keeps) is some {@value #ELEMENT} bytes for 2 or 3
 *       on the wire, and a parameter (a map entry and its value) twice that.
 * </ul>
 * Strings, {@code raw_input_contents}' bytes, floats and booleans take what they take on the wire; the route and the
 * bridge read a message's bytes in place.
 */
final class ParsedRequestSize {

    /** Heap per parsed element: an object (a ByteString view, a message, an unknown field's record) and its slot. */
    static final int ELEMENT = 48;
    /** Heap per parameter: its map entry and its {@code InferParameter}, and their strings. */
    static final int PARAMETER = 2 * ELEMENT;

    private static final int LENGTH_DELIMITED = WireFormat.WIRETYPE_LENGTH_DELIMITED;

    private ParsedRequestSize() {}

    /** {@link #parse(byte[], int, int, int)} of the whole array. */
    static ModelInferRequest parse(byte[] bytes, int maxBytes) throws InvalidProtocolBufferException {
        return parse(bytes, 0, bytes.length, maxBytes);
    }

    /**
     * The message in {@code bytes[at, at + length)}, its bytes fields read in place (the array must be the message's
     * own), once its size parsed is known to be within {@code maxBytes}.
     *
     * @throws ModelInferRoute.MessageTooLarge when it would take more than {@code maxBytes} beyond its own bytes
     * @throws InvalidProtocolBufferException when it is not a {@code ModelInferRequest}
     */
    static ModelInferRequest parse(byte[] bytes, int at, int length, int maxBytes) throws InvalidProtocolBufferException {
        if (of(bytes, at, length) > maxBytes) {
            throw new ModelInferRoute.MessageTooLarge("request, once parsed, would take more than");
        }
        CodedInputStream in = CodedInputStream.newInstance(bytes, at, length);
        in.enableAliasing(true);
        try {
            ModelInferRequest message = ModelInferRequest.parseFrom(in);
            in.checkLastTagWas(0); // a stray end-group tag must not end the message early, as in grpc-java
            return message;
        } catch (InvalidProtocolBufferException e) {
            throw e;
        } catch (IOException e) { // an array source has no other I/O to fail
            throw new InvalidProtocolBufferException(e);
        }
    }

    /**
     * The bytes the message in {@code bytes[at, at + length)} takes parsed, beyond its own.
     *
     * @throws InvalidProtocolBufferException when the message is malformed (protobuf would refuse it too)
     */
    static long of(byte[] bytes, int at, int length) throws InvalidProtocolBufferException {
        try {
            return request(bytes, at, length);
        } catch (InvalidProtocolBufferException e) {
            throw e;
        } catch (IOException e) { // an array source has no other I/O to fail
            throw new InvalidProtocolBufferException(e);
        }
    }

    /** {@code ModelInferRequest}: model_name 1, model_version 2, id 3, parameters 4, inputs 5, outputs 6, raw 7. */
    private static long request(byte[] bytes, int at, int length) throws IOException {
        long total = 0;
        CodedInputStream in = CodedInputStream.newInstance(bytes, at, length);
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            int field = WireFormat.getTagFieldNumber(tag);
            if (WireFormat.getTagWireType(tag) == LENGTH_DELIMITED && field >= 4 && field <= 6) {
                int size = length(in, length);
                int start = at + in.getTotalBytesRead();
                total += field == 4 ? parameter(bytes, start, size)
                        : ELEMENT + (field == 5 ? input(bytes, start, size) : output(bytes, start, size));
                in.skipRawBytes(size);
            } else { // strings (nothing more), or a raw_input_contents element (7) or an unknown field (an element)
                total += skip(in, tag, known(field, 3, tag));
            }
        }
        return total;
    }

    /** {@code InferInputTensor}: name 1, datatype 2, shape 3, parameters 4, contents 5. */
    private static long input(byte[] bytes, int at, int length) throws IOException {
        long total = 0;
        CodedInputStream in = CodedInputStream.newInstance(bytes, at, length);
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            int field = WireFormat.getTagFieldNumber(tag);
            if (field == 3) {
                total += numbers(in, tag, bytes, at, length, 8);
            } else if ((field == 4 || field == 5) && WireFormat.getTagWireType(tag) == LENGTH_DELIMITED) {
                int size = length(in, length);
                int start = at + in.getTotalBytesRead();
                total += field == 4 ? parameter(bytes, start, size) : contents(bytes, start, size);
                in.skipRawBytes(size);
            } else {
                total += skip(in, tag, known(field, 2, tag));
            }
        }
        return total;
    }

    /** {@code InferRequestedOutputTensor}: name 1, parameters 2. */
    private static long output(byte[] bytes, int at, int length) throws IOException {
        long total = 0;
        CodedInputStream in = CodedInputStream.newInstance(bytes, at, length);
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            int field = WireFormat.getTagFieldNumber(tag);
            if (field == 2 && WireFormat.getTagWireType(tag) == LENGTH_DELIMITED) {
                int size = length(in, length);
                total += parameter(bytes, at + in.getTotalBytesRead(), size);
                in.skipRawBytes(size);
            } else {
                total += skip(in, tag, known(field, 1, tag));
            }
        }
        return total;
    }

    /**
     * A {@code parameters} map entry (key 1, value 2): the entry and its {@code InferParameter}, and the fields the
     * value keeps as unknown (the entry itself drops those it does not know).
     */
    private static long parameter(byte[] bytes, int at, int length) throws IOException {
        long total = PARAMETER;
        CodedInputStream in = CodedInputStream.newInstance(bytes, at, length);
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            if (WireFormat.getTagFieldNumber(tag) == 2 && WireFormat.getTagWireType(tag) == LENGTH_DELIMITED) {
                int size = length(in, length);
                total += value(bytes, at + in.getTotalBytesRead(), size);
                in.skipRawBytes(size);
            } else {
                in.skipField(tag);
            }
        }
        return total;
    }

    /** {@code InferParameter}: bool 1, int64 2, string 3, double 4. */
    private static long value(byte[] bytes, int at, int length) throws IOException {
        long total = 0;
        CodedInputStream in = CodedInputStream.newInstance(bytes, at, length);
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            int type = WireFormat.getTagWireType(tag);
            total += skip(in, tag, switch (WireFormat.getTagFieldNumber(tag)) {
                case 1, 2 -> type == WireFormat.WIRETYPE_VARINT;
                case 3 -> type == LENGTH_DELIMITED;
                case 4 -> type == WireFormat.WIRETYPE_FIXED64;
                default -> false;
            });
        }
        return total;
    }

    /** {@code InferTensorContents}: bool 1, int 2, int64 3, uint 4, uint64 5, fp32 6, fp64 7, bytes 8. */
    private static long contents(byte[] bytes, int at, int length) throws IOException {
        long total = 0;
        CodedInputStream in = CodedInputStream.newInstance(bytes, at, length);
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            int type = WireFormat.getTagWireType(tag);
            switch (WireFormat.getTagFieldNumber(tag)) {
                case 2, 4 -> total += numbers(in, tag, bytes, at, length, 4);
                case 3, 5 -> total += numbers(in, tag, bytes, at, length, 8);
                case 1 -> total += skip(in, tag, type == WireFormat.WIRETYPE_VARINT || type == LENGTH_DELIMITED);
                case 6 -> total += skip(in, tag, type == WireFormat.WIRETYPE_FIXED32 || type == LENGTH_DELIMITED);
                case 7 -> total += skip(in, tag, type == WireFormat.WIRETYPE_FIXED64 || type == LENGTH_DELIMITED);
                default -> total += skip(in, tag, false); // a bytes_contents element (8), or an unknown field
            }
        }
        return total;
    }

    /** Skips a field: nothing beyond its bytes when it is {@code inPlace}, else an element. */
    private static long skip(CodedInputStream in, int tag, boolean inPlace) throws IOException {
        in.skipField(tag);
        return inPlace ? 0 : ELEMENT;
    }

    /**
     * Whether {@code field} is one of the message's strings 1 to {@code lastString}, which protobuf keeps as views of
     * the message's bytes; any other field not handled by the caller is kept as an unknown field.
     */
    private static boolean known(int field, int lastString, int tag) {
        return field >= 1 && field <= lastString && WireFormat.getTagWireType(tag) == LENGTH_DELIMITED;
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
     * that end a varint (high bit clear), a single unpacked element, or with another wire type an unknown field.
     */
    private static long numbers(CodedInputStream in, int tag, byte[] bytes, int at, int messageLength, int width)
            throws IOException {
        int type = WireFormat.getTagWireType(tag);
        if (type != LENGTH_DELIMITED) {
            in.skipField(tag);
            return type == WireFormat.WIRETYPE_VARINT ? width : ELEMENT; // else protobuf keeps it as an unknown field
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
