package io.sluice.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The REST (JSON) side of the Open Inference Protocol: request bodies and response decoding. */
final class OipJson {
    static final ObjectMapper MAPPER = new ObjectMapper();

    private OipJson() {
    }

    /** {@code {"inputs":[{"name","shape","datatype","data":[...]}]}}, data flattened row-major. */
    static byte[] jsonRequest(List<Tensor> inputs) {
        ObjectNode root = MAPPER.createObjectNode();
        ArrayNode array = root.putArray("inputs");
        for (Tensor t : inputs) {
            ObjectNode input = describe(array.addObject(), t);
            ArrayNode data = input.putArray("data");
            if (t.datatype().equals("INT64")) {
                Arrays.stream(t.longs()).forEach(data::add);
            } else {
                for (float f : t.floats()) {
                    data.add(f);
                }
            }
        }
        return bytes(root);
    }

    /**
     * The JSON header of a binary request: inputs carry {@code binary_data_size} and no data, and the
     * request asks for binary outputs.
     */
    static byte[] binaryHeader(List<Tensor> inputs) {
        ObjectNode root = MAPPER.createObjectNode();
        ArrayNode array = root.putArray("inputs");
        for (Tensor t : inputs) {
            describe(array.addObject(), t).putObject("parameters").put("binary_data_size", t.raw().length);
        }
        root.putObject("parameters").put("binary_data_output", true);
        return bytes(root);
    }

    private static ObjectNode describe(ObjectNode node, Tensor t) {
        node.put("name", t.name());
        ArrayNode shape = node.putArray("shape");
        Arrays.stream(t.shape()).forEach(shape::add);
        node.put("datatype", t.datatype());
        return node;
    }

    private static byte[] bytes(JsonNode node) {
        try {
            return MAPPER.writeValueAsBytes(node);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Decodes the last response of {@code c}: JSON outputs, or a JSON header plus binary outputs. */
    static InferClient.Response decode(Http1Connection c, int status) {
        if (status < 0) {
            return InferClient.Response.failed(status, "no HTTP response (" + Status.name(status) + ")");
        }
        int headerLength = c.inferenceHeaderLength >= 0 ? c.inferenceHeaderLength : c.bodyLength;
        try {
            JsonNode header = MAPPER.readTree(c.body, 0, headerLength);
            if (status != Status.OK) {
                return InferClient.Response.failed(status, "HTTP " + status + ": " + header);
            }
            List<Tensor> outputs = new ArrayList<>();
            int offset = headerLength;
            for (JsonNode output : header.path("outputs")) {
                String name = output.path("name").asText();
                String datatype = output.path("datatype").asText();
                long[] shape = longs(output.path("shape"));
                JsonNode size = output.path("parameters").path("binary_data_size");
                if (size.isNumber()) {
                    int n = size.asInt();
                    if (offset + n > c.bodyLength) {
                        return InferClient.Response.failed(Status.IO_ERROR, "binary output " + name
                                + " overruns the body (" + (offset + n) + " > " + c.bodyLength + ")");
                    }
                    outputs.add(new Tensor(name, datatype, shape, Arrays.copyOfRange(c.body, offset, offset + n)));
                    offset += n;
                } else {
                    outputs.add(new Tensor(name, datatype, shape, rawOf(datatype, output.path("data"))));
                }
            }
            if (offset != c.bodyLength) {
                return InferClient.Response.failed(Status.IO_ERROR,
                        (c.bodyLength - offset) + " bytes after the last output");
            }
            return new InferClient.Response(status, outputs, null);
        } catch (IOException | RuntimeException e) {
            String text = new String(c.body, 0, Math.min(c.bodyLength, 300), java.nio.charset.StandardCharsets.UTF_8);
            return InferClient.Response.failed(status == Status.OK ? Status.IO_ERROR : status,
                    "undecodable response (" + e.getMessage() + "): " + text);
        }
    }

    private static long[] longs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asLong();
        }
        return out;
    }

    /** JSON {@code data} (flat or nested) to little-endian bytes of {@code datatype}. */
    private static byte[] rawOf(String datatype, JsonNode data) {
        List<JsonNode> leaves = new ArrayList<>();
        flatten(data, leaves);
        int size = Tensor.elementSize(datatype);
        ByteBuffer b = ByteBuffer.allocate(leaves.size() * size).order(ByteOrder.LITTLE_ENDIAN);
        for (JsonNode v : leaves) {
            switch (datatype) {
                case "FP32": b.putFloat((float) v.asDouble()); break;
                case "FP64": b.putDouble(v.asDouble()); break;
                case "INT64": b.putLong(v.asLong()); break;
                case "INT32": b.putInt(v.asInt()); break;
                default: throw new IllegalArgumentException("JSON data of " + datatype + " not decoded");
            }
        }
        return b.array();
    }

    private static void flatten(JsonNode node, List<JsonNode> out) {
        if (node.isArray()) {
            node.forEach(n -> flatten(n, out));
        } else if (!node.isMissingNode()) {
            out.add(node);
        }
    }
}
