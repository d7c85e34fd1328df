package io.sluice.api.grpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.sluice.api.grpc.proto.InferParameter;
import io.sluice.api.grpc.proto.InferTensorContents;
import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.api.grpc.proto.ModelInferResponse;
import io.sluice.inference.Datatype;
import io.sluice.inference.InferRequest;
import io.sluice.inference.InferResponse;
import io.sluice.inference.InferenceException;
import io.sluice.inference.Protocol;
import io.sluice.inference.RequestValidation;
import io.sluice.inference.Tensor;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * OIP gRPC messages to and from the core. Raw contents are wrapped without copying, in both
 * directions; typed {@code contents} are packed into the wire layout once. FP16 and BF16 travel only
 * raw, as the protocol says. Responses always use {@code raw_output_contents}, as Triton does.
 */
final class GrpcTensors {

    private GrpcTensors() {}

    /** The version a request asks for; null (the highest) when it names none. */
    static String version(ModelInferRequest msg) {
        return msg.getModelVersion().isEmpty() ? null : msg.getModelVersion();
    }

    /** The core request for {@code msg}; {@code deadlineNanos} comes from the gRPC deadline. */
    static InferRequest request(ModelInferRequest msg, long deadlineNanos) {
        int raw = msg.getRawInputContentsCount();
        if (raw > 0 && raw != msg.getInputsCount()) {
            throw invalid("raw_input_contents has " + raw + " entries for " + msg.getInputsCount() + " inputs");
        }
        List<Tensor> inputs = new ArrayList<>(msg.getInputsCount());
        for (int i = 0; i < msg.getInputsCount(); i++) {
            ModelInferRequest.InferInputTensor in = msg.getInputs(i);
            RequestValidation.rejectUnsupportedOnInput(in.getParametersMap(), "input '" + in.getName() + "'");
            parameters(in.getParametersMap()); // every value set, as on the request and its outputs
            Datatype type = Datatype.parse(in.getDatatype(), in.getName());
            long[] shape = shape(in);
            ByteBuffer data;
            if (raw > 0) {
                if (in.hasContents()) {
                    throw invalid("input '" + in.getName() + "' has both contents and raw_input_contents");
                }
                data = msg.getRawInputContents(i).asReadOnlyByteBuffer();
            } else {
                data = typed(in, type, shape);
            }
            Tensor tensor = new Tensor(in.getName(), type, shape, data);
            RequestValidation.checkBytes(tensor);
            inputs.add(tensor);
        }
        Map<String, Object> parameters = parameters(msg.getParametersMap());
        long deadline = deadlineNanos;
        Object timeout = parameters.remove("timeout");
        if (timeout != null) {
            long micros = RequestValidation.timeoutMicros(timeout);
            deadline = Math.min(deadline, InferRequest.deadlineAfterMicros(System.nanoTime(), micros));
        }
        Object priority = parameters.remove("priority");
        int level = priority == null ? 0 : RequestValidation.priorityLevel(priority);
        Map<String, Integer> classifications = new HashMap<>();
        for (ModelInferRequest.InferRequestedOutputTensor out : msg.getOutputsList()) {
            RequestValidation.rejectUnsupported(out.getParametersMap(), "output '" + out.getName() + "'");
            int count = RequestValidation.classificationCount(parameters(out.getParametersMap()), out.getName());
            if (count > 0) {
                classifications.put(out.getName(), count);
            }
        }
        List<String> outputs = msg.getOutputsList().stream()
                .map(ModelInferRequest.InferRequestedOutputTensor::getName).toList();
        String version = version(msg);
        String id = msg.getId().isEmpty() ? null : msg.getId();
        return new InferRequest(msg.getModelName(), version, id, parameters, inputs, outputs, level, deadline,
                Protocol.GRPC, classifications);
    }

    /**
     * The gRPC response for {@code response}, with its outputs' raw contents or, for {@link GrpcWire#frame(
     * ModelInferResponse, java.util.List)} to append, without them.
     */
    static ModelInferResponse response(InferResponse response, Map<String, InferParameter> extra, boolean raw) {
        ModelInferResponse.Builder out = ModelInferResponse.newBuilder()
                .setModelName(response.model())
                .setModelVersion(response.version())
                .putAllParameters(extra);
        if (response.id() != null) {
            out.setId(response.id());
        }
        for (Tensor t : response.outputs()) {
            ModelInferResponse.InferOutputTensor.Builder tensor = out.addOutputsBuilder()
                    .setName(t.name())
                    .setDatatype(t.datatype().name());
            for (long d : t.shape()) {
                tensor.addShape(d);
            }
            if (raw) {
                // a duplicate, not a read-only view: protobuf wraps an array-backed buffer without copying
                out.addRawOutputContents(UnsafeByteOperations.unsafeWrap(t.data().duplicate()));
            }
        }
        return out.build();
    }

    /** Request parameters as booleans, Longs (a uint64 past int64: a BigInteger), Doubles and Strings. */
    static Map<String, Object> parameters(Map<String, InferParameter> params) {
        Map<String, Object> out = new LinkedHashMap<>();
        params.forEach((k, v) -> out.put(k, switch (v.getParameterChoiceCase()) {
            case BOOL_PARAM -> v.getBoolParam();
            case INT64_PARAM -> v.getInt64Param();
            case UINT64_PARAM -> unsigned(v.getUint64Param());
            case DOUBLE_PARAM -> v.getDoubleParam();
            case STRING_PARAM -> v.getStringParam();
            case PARAMETERCHOICE_NOT_SET -> throw invalid("parameter '" + k + "' has no value");
        }));
        return out;
    }

    /** A uint64 parameter: a Long up to int64's maximum, a {@link BigInteger} past it. */
    private static Object unsigned(long bits) {
        return bits >= 0 ? bits : new BigInteger(Long.toUnsignedString(bits));
    }

    private static long[] shape(ModelInferRequest.InferInputTensor in) {
        long[] shape = new long[in.getShapeCount()];
        for (int d = 0; d < shape.length; d++) {
            shape[d] = in.getShape(d);
            if (shape[d] < 0) {
                throw invalid("input '" + in.getName() + "' has negative dimension " + shape[d]);
            }
        }
        try {
            Tensor.checkDimensions(shape);
            Tensor.elementCount(shape);
        } catch (ArithmeticException e) {
            throw invalid("input '" + in.getName() + "' has a shape too large to address");
        }
        return shape;
    }

    /** The first of {@code c}'s fields, other than {@code type}'s, that holds elements; null when none does. */
    private static String otherField(InferTensorContents c, Datatype type) {
        String[] names = {"bool_contents", "int_contents", "int64_contents", "uint_contents", "uint64_contents",
            "fp32_contents", "fp64_contents", "bytes_contents"};
        int[] counts = {c.getBoolContentsCount(), c.getIntContentsCount(), c.getInt64ContentsCount(),
            c.getUintContentsCount(), c.getUint64ContentsCount(), c.getFp32ContentsCount(), c.getFp64ContentsCount(),
            c.getBytesContentsCount()};
        int own = switch (type) {
            case BOOL -> 0;
            case INT8, INT16, INT32 -> 1;
            case INT64 -> 2;
            case UINT8, UINT16, UINT32 -> 3;
            case UINT64 -> 4;
            case FP32 -> 5;
            case FP64 -> 6;
            default -> 7;
        };
        for (int i = 0; i < names.length; i++) {
            if (i != own && counts[i] > 0) {
                return names[i];
            }
        }
        return null;
    }

    private static ByteBuffer typed(ModelInferRequest.InferInputTensor in, Datatype type, long[] shape) {
        InferTensorContents c = in.getContents();
        String name = in.getName();
        long n = Tensor.elementCount(shape);
        int given = switch (type) {
            case BOOL -> c.getBoolContentsCount();
            case INT8, INT16, INT32 -> c.getIntContentsCount();
            case INT64 -> c.getInt64ContentsCount();
            case UINT8, UINT16, UINT32 -> c.getUintContentsCount();
            case UINT64 -> c.getUint64ContentsCount();
            case FP32 -> c.getFp32ContentsCount();
            case FP64 -> c.getFp64ContentsCount();
            case BYTES -> c.getBytesContentsCount();
            case FP16, BF16 -> throw invalid("input '" + name + "' is " + type + ", which travels only in raw_input_contents");
        };
        String other = otherField(c, type);
        if (other != null) { // read past, they would be dropped without a word; first, as it is the likelier mistake
            throw invalid("input '" + name + "' is " + type + " but has elements in contents." + other
                    + ", which is not that datatype's field");
        }
        if (given != n) {
            throw invalid("input '" + name + "' has " + given + " " + type + " elements in contents, shape needs " + n);
        }
        if (type == Datatype.BYTES) {
            int size = c.getBytesContentsList().stream().mapToInt(b -> 4 + b.size()).sum();
            ByteBuffer out = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
            for (ByteString b : c.getBytesContentsList()) {
                out.putInt(b.size());
                b.copyTo(out);
            }
            return out.flip();
        }
        ByteBuffer out = ByteBuffer.allocate((int) n * type.size()).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            switch (type) {
                case BOOL -> out.put((byte) (c.getBoolContents(i) ? 1 : 0));
                case INT8 -> out.put((byte) range(name, i, c.getIntContents(i), Byte.MIN_VALUE, Byte.MAX_VALUE));
                case INT16 -> out.putShort((short) range(name, i, c.getIntContents(i), Short.MIN_VALUE, Short.MAX_VALUE));
                case INT32 -> out.putInt(c.getIntContents(i));
                case INT64 -> out.putLong(c.getInt64Contents(i));
                case UINT8 -> out.put((byte) range(name, i, Integer.toUnsignedLong(c.getUintContents(i)), 0, 0xFF));
                case UINT16 -> out.putShort((short) range(name, i, Integer.toUnsignedLong(c.getUintContents(i)), 0, 0xFFFF));
                case UINT32 -> out.putInt(c.getUintContents(i));
                case UINT64 -> out.putLong(c.getUint64Contents(i));
                case FP32 -> out.putFloat(c.getFp32Contents(i));
                case FP64 -> out.putDouble(c.getFp64Contents(i));
                default -> throw new IllegalStateException(type.name());
            }
        }
        return out.flip();
    }

    private static long range(String name, int index, long v, long min, long max) {
        if (v < min || v > max) {
            throw invalid("input '" + name + "' element " + index + " is " + v + ", outside [" + min + ", " + max + "]");
        }
        return v;
    }

    private static InferenceException.InvalidInput invalid(String message) {
        return new InferenceException.InvalidInput(message);
    }
}
