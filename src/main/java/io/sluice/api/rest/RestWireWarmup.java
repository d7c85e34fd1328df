package io.sluice.api.rest;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.buffer.Unpooled;
import io.sluice.inference.InferRequest;
import io.sluice.inference.InferResponse;
import io.sluice.inference.ModelMetadata;
import io.sluice.inference.Tensor;
import io.sluice.inference.WireWarmup;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;

/**
 * The REST adapter's part of warmup ({@link WireWarmup}): the request as JSON and as the binary tensor extension,
 * each parsed by {@link RestInferRequests} and answered by {@link RestInferResponses} in the same form.
 */
@ApplicationScoped
public class RestWireWarmup implements WireWarmup {

    private static final JsonFactory JSON = new JsonFactory();

    @Override
    public String protocol() {
        return "REST";
    }

    @Override
    public void warm(ModelMetadata metadata, InferRequest request, InferResponse answer) {
        Throwable failed = null;
        for (boolean binary : new boolean[] {false, true}) { // each form apart: one that fails leaves the other warm
            try {
                Body body = body(request, binary);
                RestInferRequests.Parsed parsed = RestInferRequests.parse(request.model(), request.version(),
                        body.bytes(), body.headerLength(), () -> metadata, InferRequest.NO_DEADLINE, 0);
                RestInferResponses.write(answer, parsed).body();
            } catch (RuntimeException | Error e) {
                if (!WireWarmup.survivable(e)) {
                    throw e;
                }
                if (failed == null) {
                    failed = e;
                } else {
                    failed.addSuppressed(e);
                }
            }
        }
        if (failed instanceof RuntimeException e) {
            throw e;
        }
        if (failed != null) {
            throw (Error) failed;
        }
    }

    /**
     * The body a client sends for {@code request}: JSON data (BF16 inputs excepted, which only travel binary), or a
     * JSON header and the raw tensors after it.
     */
    static Body body(InferRequest request, boolean binary) {
        ByteBuf header = Unpooled.buffer();
        try (JsonGenerator json = JSON.createGenerator((OutputStream) new ByteBufOutputStream(header),
                JsonEncoding.UTF8)) {
            json.writeStartObject();
            json.writeArrayFieldStart("inputs");
            for (Tensor in : request.inputs()) {
                json.writeStartObject();
                JsonTensors.writeHead(json, in);
                if (binary(in, binary)) {
                    json.writeObjectFieldStart("parameters");
                    json.writeNumberField("binary_data_size", in.byteSize());
                    json.writeEndObject();
                } else {
                    json.writeFieldName("data");
                    JsonTensors.write(json, header, in);
                }
                json.writeEndObject();
            }
            json.writeEndArray();
            if (binary) {
                json.writeObjectFieldStart("parameters");
                json.writeBooleanField("binary_data_output", true);
                json.writeEndObject();
            }
            json.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        int headerLength = header.readableBytes();
        for (Tensor in : request.inputs()) {
            if (binary(in, binary)) {
                header.writeBytes(in.view());
            }
        }
        byte[] bytes = new byte[header.readableBytes()];
        header.readBytes(bytes);
        return new Body(bytes, bytes.length > headerLength ? headerLength : null);
    }

    private static boolean binary(Tensor in, boolean all) {
        return all || !JsonTensors.travelsAsJson(in.datatype());
    }

    /**
     * A request body; {@code headerLength} is its JSON part's bytes ({@code Inference-Header-Content-Length}), null
     * when it is all JSON.
     */
    record Body(byte[] bytes, Integer headerLength) {}
}
