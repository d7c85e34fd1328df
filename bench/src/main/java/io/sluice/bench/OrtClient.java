package io.sluice.bench;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The raw baseline's "client": one in-process {@link OrtSession#run} per call, with the minimum a
 * server must also do: wrap the input bytes as tensors and copy every output out of native memory.
 */
final class OrtClient implements InferClient {
    private final OrtEnvironment env;
    private final OrtSession session;
    private final List<Tensor> inputs;
    private final List<ByteBuffer> buffers = new ArrayList<>();

    OrtClient(OrtEnvironment env, OrtSession session, List<Tensor> allInputs) throws OrtException {
        this.env = env;
        this.session = session;
        // feed what the model declares (a MiniLM export may lack token_type_ids)
        Map<String, NodeInfo> declared = session.getInputInfo();
        this.inputs = allInputs.stream().filter(t -> declared.containsKey(t.name())).toList();
        for (Tensor t : inputs) {
            ByteBuffer direct = ByteBuffer.allocateDirect(t.raw().length).order(ByteOrder.nativeOrder());
            direct.put(t.buffer()).flip();
            buffers.add(direct);
        }
    }

    private Map<String, OnnxTensor> tensors() throws OrtException {
        Map<String, OnnxTensor> feed = new HashMap<>(inputs.size() * 2);
        for (int i = 0; i < inputs.size(); i++) {
            Tensor t = inputs.get(i);
            ByteBuffer b = buffers.get(i).duplicate().order(ByteOrder.nativeOrder());
            OnnxTensor tensor = t.datatype().equals("INT64")
                    ? OnnxTensor.createTensor(env, b.asLongBuffer(), t.shape())
                    : OnnxTensor.createTensor(env, b.asFloatBuffer(), t.shape());
            feed.put(t.name(), tensor);
        }
        return feed;
    }

    @Override
    public int infer() {
        Map<String, OnnxTensor> feed = null;
        try {
            feed = tensors();
            try (OrtSession.Result result = session.run(feed)) {
                for (Map.Entry<String, OnnxValue> output : result) {
                    ((OnnxTensor) output.getValue()).getByteBuffer();
                }
            }
            return Status.OK;
        } catch (OrtException | RuntimeException e) {
            return Status.IO_ERROR;
        } finally {
            closeAll(feed);
        }
    }

    @Override
    public Response inferDecoded() {
        Map<String, OnnxTensor> feed = null;
        try {
            feed = tensors();
            List<Tensor> outputs = new ArrayList<>();
            try (OrtSession.Result result = session.run(feed)) {
                for (Map.Entry<String, OnnxValue> output : result) {
                    OnnxTensor t = (OnnxTensor) output.getValue();
                    TensorInfo info = t.getInfo();
                    ByteBuffer b = t.getByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
                    byte[] bytes = new byte[b.remaining()];
                    b.get(bytes);
                    String datatype = info.type == ai.onnxruntime.OnnxJavaType.FLOAT ? "FP32" : info.type.name();
                    outputs.add(new Tensor(output.getKey(), datatype, info.getShape(), bytes));
                }
            }
            return new Response(Status.OK, outputs, null);
        } catch (OrtException | RuntimeException e) {
            return Response.failed(Status.IO_ERROR, "ONNX Runtime: " + e.getMessage());
        } finally {
            closeAll(feed);
        }
    }

    private static void closeAll(Map<String, OnnxTensor> feed) {
        if (feed != null) {
            feed.values().forEach(OnnxTensor::close);
        }
    }

    @Override
    public List<Tensor> inputs() {
        return inputs;
    }

    @Override
    public void close() {
        // the session belongs to RawBaseline
    }
}
