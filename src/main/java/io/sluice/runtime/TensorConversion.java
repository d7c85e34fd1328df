package io.sluice.runtime;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.TensorInfo;
import ai.onnxruntime.TensorInfo.OnnxTensorType;
import io.sluice.inference.Datatype;
import io.sluice.inference.InferenceException;
import io.sluice.inference.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Moves tensors between Sluice's wire layout and ONNX Runtime. Fixed-size tensors go in as the
 * same bytes without a per-element pass: a direct buffer is handed to ONNX Runtime as it is, a heap
 * buffer is copied once by ONNX Runtime into native memory. Outputs come back with one bulk copy.
 * BYTES tensors become Java strings, because that is all the ONNX Runtime Java API accepts.
 */
final class TensorConversion {

    private TensorConversion() {}

    /** The OIP datatype of an ONNX element type, or {@code null} if OIP has none. */
    static Datatype datatype(OnnxTensorType type) {
        return switch (type) {
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL -> Datatype.BOOL;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8 -> Datatype.UINT8;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16 -> Datatype.UINT16;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32 -> Datatype.UINT32;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64 -> Datatype.UINT64;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8 -> Datatype.INT8;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16 -> Datatype.INT16;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32 -> Datatype.INT32;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64 -> Datatype.INT64;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 -> Datatype.FP16;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16 -> Datatype.BF16;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT -> Datatype.FP32;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE -> Datatype.FP64;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING -> Datatype.BYTES;
            default -> null;
        };
    }

    /** The ONNX Runtime Java type that can carry {@code datatype} as an input, or {@code null}. */
    static OnnxJavaType javaType(Datatype datatype) {
        return switch (datatype) {
            case BOOL -> OnnxJavaType.BOOL;
            case UINT8 -> OnnxJavaType.UINT8;
            case INT8 -> OnnxJavaType.INT8;
            case INT16 -> OnnxJavaType.INT16;
            case INT32 -> OnnxJavaType.INT32;
            case INT64 -> OnnxJavaType.INT64;
            case FP16 -> OnnxJavaType.FLOAT16;
            case BF16 -> OnnxJavaType.BFLOAT16;
            case FP32 -> OnnxJavaType.FLOAT;
            case FP64 -> OnnxJavaType.DOUBLE;
            case BYTES -> OnnxJavaType.STRING;
            // the ONNX Runtime Java API cannot create unsigned 16/32/64-bit tensors
            case UINT16, UINT32, UINT64 -> null;
        };
    }

    /** Creates the ONNX Runtime input for {@code tensor}; the caller closes it. */
    static OnnxTensor toOnnx(OrtEnvironment env, Tensor tensor) throws OrtException {
        if (tensor.datatype() == Datatype.BYTES) {
            return OnnxTensor.createTensor(env, strings(tensor), tensor.shape());
        }
        OnnxJavaType type = javaType(tensor.datatype());
        if (type == null) {
            throw new InferenceException.InvalidInput("input '" + tensor.name() + "': datatype "
                    + tensor.datatype() + " cannot be fed through the ONNX Runtime Java API");
        }
        return OnnxTensor.createTensor(env, direct(tensor.view()), tensor.shape(), type);
    }

    /** Copies an ONNX Runtime output into a {@link Tensor} named {@code name}. */
    static Tensor fromOnnx(String name, OnnxTensor value) throws OrtException {
        TensorInfo info = value.getInfo();
        Datatype datatype = datatype(info.onnxType);
        if (datatype == null) {
            throw new IllegalStateException("output '" + name + "' has unsupported type " + info.onnxType);
        }
        long[] shape = info.getShape();
        if (datatype == Datatype.BYTES) {
            return new Tensor(name, datatype, shape, encodeStrings(value.getValue()));
        }
        ByteBuffer bytes = value.getByteBuffer();
        return new Tensor(name, datatype, shape, bytes.order(ByteOrder.LITTLE_ENDIAN));
    }

    /**
     * The bytes in native memory: a direct buffer as it is, a heap buffer copied once (the copy
     * ONNX Runtime would otherwise make itself, and it only accepts typed views of heap memory).
     */
    private static ByteBuffer direct(ByteBuffer data) {
        if (data.isDirect()) {
            return data.order(ByteOrder.nativeOrder());
        }
        return ByteBuffer.allocateDirect(data.remaining()).order(ByteOrder.nativeOrder()).put(data).flip();
    }

    private static String[] strings(Tensor tensor) {
        ByteBuffer data = tensor.view();
        String[] out = new String[Math.toIntExact(tensor.elementCount())];
        for (int i = 0; i < out.length; i++) {
            int length = data.getInt();
            byte[] element = new byte[length];
            data.get(element);
            out[i] = new String(element, StandardCharsets.UTF_8);
        }
        return out;
    }

    private static ByteBuffer encodeStrings(Object nested) {
        List<byte[]> elements = new ArrayList<>();
        flatten(nested, elements);
        int size = elements.stream().mapToInt(e -> 4 + e.length).sum();
        ByteBuffer out = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        for (byte[] e : elements) {
            out.putInt(e.length).put(e);
        }
        return out.flip();
    }

    private static void flatten(Object value, List<byte[]> out) {
        if (value instanceof String s) {
            out.add(s.getBytes(StandardCharsets.UTF_8));
        } else if (value instanceof Object[] array) {
            for (Object o : array) {
                flatten(o, out);
            }
        }
    }
}
