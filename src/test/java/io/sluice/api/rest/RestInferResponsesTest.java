package io.sluice.api.rest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.buffer.Unpooled;
import io.sluice.inference.Datatype;
import io.sluice.inference.InferRequest;
import io.sluice.inference.InferResponse;
import io.sluice.inference.Protocol;
import io.sluice.inference.Tensor;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The JSON answer is printed once into a buffer sized for it: a MiniLM-sized FP32 output (the widest
 * floats Java prints, sign, 9 digits and a negative exponent) fits the estimate without regrowing, and
 * reads back to exactly the floats the model produced. Floats printed straight into the buffer sit
 * exactly where the generator's own text expects them, and a buffer too small for them grows.
 */
class RestInferResponsesTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aMiniLmAnswerFitsItsEstimateAndReadsBackExactly() throws Exception {
        int n = 128 * 384;
        ByteBuffer data = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
        Random random = new Random(7);
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            // every other one the longest form: -d.dddddddE-dd
            values[i] = i % 2 == 0 ? -Float.intBitsToFloat(0x2d000000 | random.nextInt(0x00800000))
                    : (float) random.nextGaussian();
            data.putFloat(values[i]);
        }
        Tensor out = new Tensor("last_hidden_state", Datatype.FP32, new long[] {1, 128, 384}, data.flip());
        InferResponse response = new InferResponse("m", "1", null, Map.of(), List.of(out));
        RestInferRequests.Parsed parsed = new RestInferRequests.Parsed(new InferRequest("m", null, null, Map.of(),
                List.of(), List.of(), 0, InferRequest.NO_DEADLINE, Protocol.REST), Set.of(), Set.of(), false);

        RestInferResponses.Written written = RestInferResponses.write(response, parsed);

        int estimate = RestInferResponses.estimatedSize(response, parsed);
        assertThat(written.headerLength()).isEqualTo(-1);
        // the buffer starts at the estimate, so an answer no longer than it was never regrown or copied
        assertThat(written.body().length()).isBetween(estimate * 3 / 4, estimate);
        JsonNode printed = JSON.readTree(written.body().getBytes()).path("outputs").path(0).path("data");
        assertThat(printed.size()).isEqualTo(n);
        for (int i = 0; i < n; i++) {
            assertThat(printed.get(i).floatValue()).isEqualTo(values[i]);
        }
    }

    @Test
    void onlyAnAnswerWithMoreJsonTextThanMiniLmsLongestIsWrittenOffTheEventLoop() {
        Tensor miniLm512 = new Tensor("last_hidden_state", Datatype.FP32, new long[] {1, 512, 384},
                ByteBuffer.allocate(512 * 384 * 4));
        Tensor large = new Tensor("big", Datatype.FP32, new long[] {1, RestInferResponses.LARGE_TEXT_ELEMENTS + 1},
                ByteBuffer.allocate((int) (RestInferResponses.LARGE_TEXT_ELEMENTS + 1) * 4));
        InferRequest request = new InferRequest("m", null, null, Map.of(), List.of(), List.of(), 0,
                InferRequest.NO_DEADLINE, Protocol.REST);
        RestInferRequests.Parsed text = new RestInferRequests.Parsed(request, Set.of(), Set.of(), false);
        RestInferRequests.Parsed bigAsBinary = new RestInferRequests.Parsed(request, Set.of("big"), Set.of(), false);

        assertThat(RestInferResponses.largeText(new InferResponse("m", "1", null, Map.of(), List.of(miniLm512)), text))
                .isFalse();
        InferResponse both = new InferResponse("m", "1", null, Map.of(), List.of(miniLm512, large));
        assertThat(RestInferResponses.largeText(both, text)).isTrue();
        assertThat(RestInferResponses.textElements(both, bigAsBinary)).isEqualTo(512 * 384);
        assertThat(RestInferResponses.largeText(both, bigAsBinary)).isFalse(); // its binary part is no text
    }

    @Test
    void floatsAreSplicedIntoTheJsonWhereverTheOutputSits() throws Exception {
        Tensor fp32 = new Tensor("a", Datatype.FP32, new long[] {5}, floats(Float.NaN, Float.POSITIVE_INFINITY,
                Float.NEGATIVE_INFINITY, -0f, 1e-7f));
        ByteBuffer halves = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN)
                .putShort(Half.fromFloat(0.5f)).putShort(Half.fromFloat(-65504f)).flip();
        Tensor fp16 = new Tensor("b", Datatype.FP16, new long[] {2}, halves);
        ByteBuffer bfloats = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN)
                .putShort((short) (Float.floatToIntBits(1.5f) >>> 16))
                .putShort((short) (Float.floatToIntBits(-0.375f) >>> 16)).flip();
        Tensor bf16 = new Tensor("d", Datatype.BF16, new long[] {2}, bfloats);
        ByteBuffer ints = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(-3).flip();
        Tensor int32 = new Tensor("c", Datatype.INT32, new long[] {1}, ints);
        InferResponse response = new InferResponse("m", "1", "id-1", Map.of(), List.of(fp32, int32, fp16, bf16));
        RestInferRequests.Parsed parsed = new RestInferRequests.Parsed(new InferRequest("m", null, null,
                Map.of("tag", "x"), List.of(), List.of(), 0, InferRequest.NO_DEADLINE, Protocol.REST), Set.of(), Set.of(), false);

        String text = RestInferResponses.write(response, parsed).body().toString();

        assertThat(text).isEqualTo("{\"model_name\":\"m\",\"model_version\":\"1\",\"id\":\"id-1\","
                + "\"parameters\":{\"tag\":\"x\"},\"outputs\":["
                + "{\"name\":\"a\",\"datatype\":\"FP32\",\"shape\":[5],"
                + "\"data\":[\"NaN\",\"Infinity\",\"-Infinity\",-0.0,1.0E-7]},"
                + "{\"name\":\"c\",\"datatype\":\"INT32\",\"shape\":[1],\"data\":[-3]},"
                + "{\"name\":\"b\",\"datatype\":\"FP16\",\"shape\":[2],\"data\":[0.5,-65504.0]},"
                + "{\"name\":\"d\",\"datatype\":\"BF16\",\"shape\":[2],\"data\":[1.5,-0.375]}]}");
        assertThat(JSON.readTree(text).path("outputs").size()).isEqualTo(4);
    }

    @Test
    void aBufferTooSmallForTheFloatsGrows() throws Exception {
        float[] values = new float[1000];
        for (int i = 0; i < values.length; i++) {
            values[i] = -1.2345678e-20f * (i + 1);
        }
        Tensor out = new Tensor("a", Datatype.FP32, new long[] {values.length}, floats(values));
        ByteBuf body = Unpooled.buffer(4);
        try (JsonGenerator json = new JsonFactory().createGenerator((OutputStream) new ByteBufOutputStream(body),
                JsonEncoding.UTF8)) {
            json.writeStartObject();
            json.writeFieldName("data");
            JsonTensors.write(json, body, out);
            json.writeEndObject();
        }

        JsonNode data = JSON.readTree(body.toString(StandardCharsets.US_ASCII)).path("data");
        assertThat(data.size()).isEqualTo(values.length);
        for (int i = 0; i < values.length; i++) {
            assertThat(data.get(i).floatValue()).isEqualTo(values[i]);
        }
    }

    private static ByteBuffer floats(float... values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return b.flip();
    }
}
