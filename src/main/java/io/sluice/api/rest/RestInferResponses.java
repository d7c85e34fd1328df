package io.sluice.api.rest;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.StreamWriteFeature;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.sluice.inference.InferResponse;
import io.sluice.inference.Tensor;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Writes an OIP REST infer response: JSON, with binary outputs appended after the JSON header. The
 * binary parts are wrapped, not copied: the body is a composite of the header and the output
 * buffers themselves.
 */
final class RestInferResponses {

    private static final JsonFactory JSON = JsonFactory.builder()
            .enable(StreamWriteFeature.USE_FAST_DOUBLE_WRITER)
            .build();

    /**
     * A written response.
     *
     * @param body the bytes to send
     * @param headerLength the JSON header's length when binary parts follow, else -1
     */
    record Written(Buffer body, int headerLength) {}

    private RestInferResponses() {}

    private static void writeParameter(JsonGenerator json, String name, Object value) throws IOException {
        if (value instanceof Boolean b) {
            json.writeBooleanField(name, b);
        } else if (value instanceof Long l) {
            json.writeNumberField(name, l);
        } else if (value instanceof BigInteger big) {
            json.writeNumberField(name, big);
        } else if (value instanceof Double d) {
            json.writeNumberField(name, d);
        } else {
            json.writeStringField(name, String.valueOf(value));
        }
    }

    static Written write(InferResponse response, RestInferRequests.Parsed parsed) {
        List<Tensor> binary = new ArrayList<>();
        ByteBuf header = Unpooled.buffer(estimatedSize(response, parsed));
        try (JsonGenerator json = JSON.createGenerator((OutputStream) new ByteBufOutputStream(header),
                JsonEncoding.UTF8)) {
            json.writeStartObject();
            json.writeStringField("model_name", response.model());
            json.writeStringField("model_version", response.version());
            if (response.id() != null) {
                json.writeStringField("id", response.id());
            }
            Map<String, Object> params = parsed.request().parameters();
            if (!params.isEmpty()) {
                json.writeObjectFieldStart("parameters");
                for (Map.Entry<String, Object> p : params.entrySet()) {
                    writeParameter(json, p.getKey(), p.getValue());
                }
                json.writeEndObject();
            }
            json.writeArrayFieldStart("outputs");
            for (Tensor out : response.outputs()) {
                json.writeStartObject();
                JsonTensors.writeHead(json, out);
                if (parsed.binary(out.name())) {
                    json.writeObjectFieldStart("parameters");
                    json.writeNumberField("binary_data_size", out.byteSize());
                    json.writeEndObject();
                    binary.add(out);
                } else {
                    json.writeFieldName("data");
                    JsonTensors.write(json, header, out);
                }
                json.writeEndObject();
            }
            json.writeEndArray();
            json.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (binary.isEmpty()) {
            return new Written(Buffer.buffer(header), -1);
        }
        int headerLength = header.readableBytes();
        CompositeByteBuf body = Unpooled.compositeBuffer(binary.size() + 1);
        body.addComponent(true, header);
        for (Tensor t : binary) {
            ByteBuf part = Unpooled.wrappedBuffer(t.view());
            body.addComponent(true, part);
        }
        return new Written(Buffer.buffer(body), headerLength);
    }

    /**
     * Elements of JSON text past which an answer is written off the event loop: 262,144, some 6 ms of writing floats
     * (MiniLM's 512 tokens of 384, 196,608 elements, stay on it).
     */
    static final long LARGE_TEXT_ELEMENTS = 1L << 18;

    /** The elements of {@code response} written as JSON text, not as binary data. */
    static long textElements(InferResponse response, RestInferRequests.Parsed parsed) {
        long elements = 0;
        for (Tensor out : response.outputs()) {
            if (!parsed.binary(out.name())) {
                elements += out.elementCount();
            }
        }
        return elements;
    }

    /** Whether writing {@code response} would hold an event loop long enough to be a worker's job. */
    static boolean largeText(InferResponse response, RestInferRequests.Parsed parsed) {
        return textElements(response, parsed) > LARGE_TEXT_ELEMENTS;
    }

    /**
     * About how many bytes the JSON part takes, so that it is written into one buffer without regrowing
     * and copying (a 128-token MiniLM answer prints 49,152 floats, ~600 KB): per element of a JSON output
     * 16 bytes (a float32 needs up to 15 and a comma), 26 for 64-bit types (a double up to 24, a long
     * 20), twice the bytes of a BYTES one; 512 for the rest.
     */
    static int estimatedSize(InferResponse response, RestInferRequests.Parsed parsed) {
        long size = 512;
        for (Tensor out : response.outputs()) {
            size += 128;
            if (!parsed.binary(out.name())) {
                size += switch (out.datatype()) {
                    case BYTES -> 2L * out.byteSize();
                    case FP64, INT64, UINT64 -> 26L * out.elementCount();
                    default -> 16L * out.elementCount();
                };
            }
        }
        return (int) Math.min(size, 64L << 20);
    }
}
