package io.sluice.api.rest;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.sluice.inference.Datatype;
import io.sluice.inference.InferRequest;
import io.sluice.inference.InferenceException;
import io.sluice.inference.ModelMetadata;
import io.sluice.inference.Protocol;
import io.sluice.inference.RequestValidation;
import io.sluice.inference.Tensor;
import io.sluice.inference.TensorSpec;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Parses an OIP REST infer body: plain JSON, or the binary tensor extension (a JSON header of
 * {@code Inference-Header-Content-Length} bytes followed by raw tensors in input order), including
 * the raw single-input form where the header length is 0. Binary tensors are slices of the body,
 * never decoded element by element.
 */
final class RestInferRequests {

    /** Request parameters that Sluice reads itself and does not echo back. */
    static final Set<String> RESERVED = Set.of("priority", "timeout", "binary_data_output", "binary_data_size",
            "binary_data");

    private static final ObjectMapper JSON = JsonMapper.builder(JsonFactory.builder()
                    // a BYTES element is bounded by the body limit alone, as over binary REST and gRPC, not by Jackson's
                    // default of 20,000,000 characters a string
                    .streamReadConstraints(StreamReadConstraints.builder().maxStringLength(Integer.MAX_VALUE).build())
                    .build())
            // NaN, Infinity and -Infinity as bare tokens: what Python's json.dumps writes for a numpy array of floats
            // (tritonclient with binary_data=False), and what Triton reads
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            // a key twice in one object ("data" or "inputs" twice, say) is refused, not read as its last value: a
            // client whose serializer sent both meant one of them, and the server would not know which (names only:
            // a data array has none, so what it costs is a check per field name outside the tensors' values)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS)
            // as written: stripping a long number's trailing zeros costs a division per digit
            .disable(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES)
            .build();

    /**
     * A parsed request, with what the response writer needs to know.
     *
     * @param request the core request
     * @param binaryOutputs outputs whose own {@code binary_data} parameter is true
     * @param textOutputs outputs whose own {@code binary_data} parameter is false
     * @param allBinary whether {@code binary_data_output} asked for every output in binary
     */
    record Parsed(InferRequest request, Set<String> binaryOutputs, Set<String> textOutputs, boolean allBinary) {

        /** Whether output {@code name} goes back as binary data: its own setting wins, as in Triton. */
        boolean binary(String name) {
            return !textOutputs.contains(name) && (allBinary || binaryOutputs.contains(name));
        }
    }

    private RestInferRequests() {}

    /**
     * What to answer when input {@code name}'s data could not be read as {@code sent}: that the model expects another
     * datatype, if it does ({@link RequestValidation#datatypeMismatch}), else {@code failure}. The metadata is looked up
     * only then, never on a request that reads.
     */
    private static InferenceException.InvalidInput datatypeFirst(InferenceException.InvalidInput failure,
            Supplier<ModelMetadata> metadata, String name, Datatype sent) {
        InferenceException.InvalidInput mismatch;
        try {
            mismatch = RequestValidation.datatypeMismatch(metadata.get(), name, sent);
        } catch (InferenceException e) { // the version is no longer ready: the data's own fault stands
            return failure;
        }
        return mismatch == null ? failure : mismatch;
    }

    /**
     * Parses {@code body}.
     *
     * @param headerLength the {@code Inference-Header-Content-Length} value, or null for plain JSON
     * @param metadata the model's metadata, needed only for the raw single-input form
     * @param deadlineNanos deadline from a header, or {@link InferRequest#NO_DEADLINE}
     * @param headerPriority priority from a header, or 0
     */
    static Parsed parse(String model, String version, byte[] body, Integer headerLength,
            Supplier<ModelMetadata> metadata, long deadlineNanos, int headerPriority) {
        if (headerLength != null && (headerLength < 0 || headerLength > body.length)) {
            throw new InferenceException.InvalidInput("Inference-Header-Content-Length " + headerLength
                    + " is outside the body of " + body.length + " bytes");
        }
        if (headerLength != null && headerLength == 0) {
            return raw(model, version, body, metadata.get(), deadlineNanos, headerPriority);
        }
        int jsonLength = headerLength == null ? body.length : headerLength;
        JsonBody.Request json;
        try {
            json = JsonBody.read(JSON, body, jsonLength);
        } catch (InferenceException.InvalidInput e) {
            if (headerLength == null) {
                throw e;
            }
            // a header length that misses the JSON's end reads as broken JSON: say where the JSON was taken to end
            throw new InferenceException.InvalidInput(e.getMessage() + " (in the JSON header: the body's first "
                    + headerLength + " bytes, as " + RestHeaders.HEADER_LENGTH + " says)", e.kind());
        }
        JsonNode root = json.root();
        Map<String, Object> parameters = Parameters.read(root.get("parameters"), "request");
        List<Tensor> inputs = new ArrayList<>();
        int offset = jsonLength;
        if (json.inputs() == null) {
            throw new InferenceException.InvalidInput("request has no 'inputs' array");
        }
        for (JsonBody.Input input : json.inputs()) {
            JsonNode in = input.fields();
            String name = text(in, "name", "input");
            Datatype type = Datatype.parse(textOrNull(in, "datatype"), name);
            long[] shape = shape(in.get("shape"), name);
            Map<String, Object> inParams = Parameters.read(in.get("parameters"), "input '" + name + "'");
            RequestValidation.rejectUnsupportedOnInput(inParams, "input '" + name + "'");
            Object size = inParams.get("binary_data_size");
            ByteBuffer data = null;
            if (size != null) {
                if (input.data() != null) {
                    throw new InferenceException.InvalidInput("input '" + name + "' has both 'data' and"
                            + " binary_data_size; send one");
                }
                if (!(size instanceof Long n) || n < 0) {
                    throw new InferenceException.InvalidInput("input '" + name + "' binary_data_size must be a"
                            + " non-negative integer, was " + RequestValidation.shown(size));
                }
                // an empty one needs no header: KServe's client sends a request whose only binary inputs are empty
                // as plain JSON, with "data": null and binary_data_size 0 (Triton takes it)
                if (headerLength == null && n > 0) {
                    throw new InferenceException.InvalidInput("input '" + name + "' has binary_data_size, but the"
                            + " request has no Inference-Header-Content-Length header to say where its JSON ends");
                }
                if (n > body.length - offset) {
                    throw new InferenceException.InvalidInput("input '" + name + "' binary_data_size " + size
                            + " exceeds the " + (body.length - offset) + " bytes left in the body");
                }
                data = ByteBuffer.wrap(body, offset, (int) (long) n);
                offset += (int) (long) n;
            }
            try {
                if (size == null) {
                    data = JsonTensors.decode(JSON, name, type, shape, input.data());
                }
                Tensor tensor = new Tensor(name, type, shape, data);
                RequestValidation.checkBytes(tensor);
                inputs.add(tensor);
            } catch (InferenceException.InvalidInput e) {
                throw datatypeFirst(e, metadata, name, type);
            }
        }
        if (offset != body.length) {
            throw new InferenceException.InvalidInput("body has " + (body.length - offset)
                    + " bytes after the last binary input");
        }
        List<String> outputs = new ArrayList<>();
        Set<String> binary = new HashSet<>();
        Set<String> notBinary = new HashSet<>();
        Map<String, Integer> classifications = new HashMap<>();
        JsonNode outNodes = root.get("outputs");
        if (outNodes != null && !outNodes.isNull() && !outNodes.isArray()) {
            throw new InferenceException.InvalidInput("'outputs' must be an array, was " + outNodes.getNodeType());
        }
        if (outNodes != null && outNodes.isArray()) {
            for (JsonNode out : outNodes) {
                String name = text(out, "name", "output");
                outputs.add(name);
                Map<String, Object> outParams = Parameters.read(out.get("parameters"), "output '" + name + "'");
                RequestValidation.rejectUnsupported(outParams, "output '" + name + "'");
                int count = RequestValidation.classificationCount(outParams, name);
                if (count > 0) {
                    classifications.put(name, count);
                }
                Object binaryData = outParams.get("binary_data");
                if (binaryData != null && !(binaryData instanceof Boolean)) {
                    throw new InferenceException.InvalidInput("output '" + name + "' parameter binary_data must be"
                            + " true or false, was " + RequestValidation.shown(binaryData));
                }
                if (Boolean.TRUE.equals(binaryData)) {
                    binary.add(name);
                } else if (Boolean.FALSE.equals(binaryData)) {
                    notBinary.add(name);
                }
            }
        }
        Object binaryOutput = parameters.get("binary_data_output");
        if (binaryOutput != null && !(binaryOutput instanceof Boolean)) {
            throw new InferenceException.InvalidInput("parameter binary_data_output must be true or false, was "
                    + RequestValidation.shown(binaryOutput));
        }
        boolean allBinary = Boolean.TRUE.equals(binaryOutput);
        String id = textOrNull(root, "id");
        return new Parsed(request(model, version, id, parameters, inputs, outputs, deadlineNanos, headerPriority,
                classifications),
                binary, notBinary, allBinary);
    }

    private static Parsed raw(String model, String version, byte[] body, ModelMetadata metadata,
            long deadlineNanos, int priority) {
        if (metadata.inputs().size() != 1) {
            throw new InferenceException.InvalidInput("a raw request (Inference-Header-Content-Length: 0) needs a"
                    + " model with one input; '" + model + "' has " + metadata.inputs().size());
        }
        TensorSpec spec = metadata.inputs().get(0);
        long[] shape = spec.shape().clone();
        if (shape.length > 1 && shape[0] == -1 && java.util.Arrays.stream(shape).filter(d -> d == -1).count() > 1) {
            shape[0] = 1; // as Triton reads a raw request: one row of a batching model; the other dimension is inferred
        }
        long fixed = 1;
        int unknown = -1;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == -1) {
                if (unknown >= 0) {
                    throw new InferenceException.InvalidInput("a raw request cannot infer the shape of input '"
                            + spec.name() + "' with more than one variable dimension");
                }
                unknown = i;
            } else {
                fixed *= shape[i];
            }
        }
        if (unknown >= 0) {
            if (!spec.datatype().fixedSize()) { // its elements' lengths do not say how many there are
                throw new InferenceException.InvalidInput("raw body for BYTES input '" + spec.name() + "' " + spec
                        + ": its element count cannot be told from the body's length while a dimension is variable;"
                        + " send the input in a JSON header (binary_data_size) with its shape");
            }
            long elementSize = spec.datatype().size();
            if (fixed == 0 || body.length % (fixed * elementSize) != 0) {
                throw new InferenceException.InvalidInput("raw body of " + body.length
                        + " bytes does not fit input '" + spec.name() + "' " + spec);
            }
            shape[unknown] = body.length / (fixed * elementSize);
        }
        Tensor tensor = new Tensor(spec.name(), spec.datatype(), shape, ByteBuffer.wrap(body));
        RequestValidation.checkBytes(tensor);
        return new Parsed(request(model, version, null, Map.of(), List.of(tensor), List.of(), deadlineNanos, priority,
                Map.of()),
                Set.of(), Set.of(), true);
    }

    private static InferRequest request(String model, String version, String id, Map<String, Object> parameters,
            List<Tensor> inputs, List<String> outputs, long headerDeadline, int headerPriority,
            Map<String, Integer> classifications) {
        long deadline = headerDeadline;
        Object timeout = parameters.get("timeout");
        if (timeout != null) {
            long micros = RequestValidation.timeoutMicros(timeout);
            deadline = Math.min(deadline, InferRequest.deadlineAfterMicros(System.nanoTime(), micros));
        }
        Object p = parameters.get("priority");
        int priority = p == null ? headerPriority : RequestValidation.priorityLevel(p);
        Map<String, Object> echoed = new LinkedHashMap<>(parameters);
        echoed.keySet().removeAll(RESERVED);
        return new InferRequest(model, version, id, echoed, inputs, outputs, priority, deadline, Protocol.REST,
                classifications);
    }

    private static long[] shape(JsonNode node, String name) {
        if (node == null || !node.isArray()) {
            throw new InferenceException.InvalidInput("input '" + name + "' has no shape array");
        }
        long[] shape = new long[node.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = node.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.longValue() < 0) {
                throw new InferenceException.InvalidInput("input '" + name + "' has invalid dimension " + d
                        + " in shape; dimensions are non-negative integers");
            }
            shape[i] = d.longValue();
        }
        try {
            Tensor.checkDimensions(shape);
            Tensor.elementCount(shape);
        } catch (ArithmeticException e) {
            throw new InferenceException.InvalidInput("input '" + name + "' has a shape too large to address");
        }
        return shape;
    }

    private static String text(JsonNode node, String field, String what) {
        String value = textOrNull(node, field);
        if (value == null) {
            throw new InferenceException.InvalidInput(what + " has no '" + field + "'");
        }
        return value;
    }

    private static String textOrNull(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v != null && !v.isNull() && !v.isTextual()) {
            throw new InferenceException.InvalidInput("'" + field + "' must be a string, was " + v);
        }
        return v == null || v.isNull() ? null : v.textValue();
    }
}
