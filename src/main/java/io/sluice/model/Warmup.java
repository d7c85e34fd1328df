package io.sluice.model;

import io.sluice.config.ModelSettings;
import io.sluice.config.WarmupData;
import io.sluice.inference.Datatype;
import io.sluice.inference.InferRequest;
import io.sluice.inference.Protocol;
import io.sluice.inference.Tensor;
import io.sluice.inference.TensorSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Warms a model through the real execution path ({@link ServedModel#warm}: validation, scheduler, batcher,
 * runtime, but not the admission guard, whose timeout is for requests) at each configured batch size,
 * {@code count} times, with zeros, random data or sample files. A failing sample fails the load.
 */
final class Warmup {

    private static final Duration TIMEOUT = Duration.ofMinutes(10);

    private Warmup() {}

    /** Runs every warmup request and waits for each; throws what the first failure threw. */
    static void run(ServedModel model, List<TensorSpec> inputs, boolean batchable) throws IOException {
        ModelSettings s = model.settings();
        List<Integer> sizes = batchable ? s.warmupBatchSizes() : List.of(1);
        SplittableRandom random = new SplittableRandom(42);
        for (int batch : sizes) {
            for (int i = 0; i < s.warmupCount(); i++) {
                List<Tensor> tensors = new ArrayList<>();
                for (TensorSpec spec : inputs) {
                    tensors.add(sample(model, spec, batchable, batchable ? batch : 1, random));
                }
                InferRequest request = new InferRequest(model.name(), model.version(), "warmup", Map.of(),
                        tensors, List.of(), 0, InferRequest.NO_DEADLINE, Protocol.INTERNAL);
                io.sluice.inference.InferResponse response = model.warm(request).await().atMost(TIMEOUT);
                if (batchable && batch > 1) {
                    checkBatchDimension(response.outputs(), batch);
                }
            }
        }
    }

    /**
     * A model batches when every input and output has a variable first dimension; an output whose first
     * dimension does not follow the rows (a count of detections, say) could not be split back to the requests
     * of a batch. Found here, at load, rather than as every batched request's 500.
     */
    private static void checkBatchDimension(List<Tensor> outputs, int rows) {
        for (Tensor out : outputs) {
            if (out.shape().length == 0 || out.shape()[0] != rows) {
                throw new IllegalStateException("warmup of " + rows + " rows: output '" + out.name() + "' has shape "
                        + out.shapeText() + ", whose first dimension is not the batch; a model whose variable first"
                        + " dimension is not a batch (a count of detections, say) needs batching.max-batch-size=1");
            }
        }
    }

    private static Tensor sample(ServedModel model, TensorSpec spec, boolean batchable, int batch,
            SplittableRandom random) throws IOException {
        ModelSettings s = model.settings();
        long[] shape = spec.shape().clone();
        // a variable first dimension is the rows of a model that batches, and of one that does not when other
        // dimensions follow it (batching turned off for an image model, say: one image, not 16). Alone, in a
        // model that does not batch, it is a sequence (input_ids: [-1]) and sized as any other, so that warmup
        // runs the lengths requests bring. Sample files hold one row: their first dimension stays the rows.
        boolean rows = batchable || spec.shape().length > 1 || s.warmupData() == WarmupData.FILES;
        for (int d = 0; d < shape.length; d++) {
            if (shape[d] == -1) {
                shape[d] = d == 0 && spec.dynamicBatch() && rows ? batch : s.warmupDynamicDimSize();
            }
        }
        if (s.warmupData() == WarmupData.FILES) {
            return fromFile(model, spec, shape, batch);
        }
        return new Tensor(spec.name(), spec.datatype(), shape,
                data(spec.datatype(), Math.toIntExact(Tensor.elementCount(shape)), s.warmupData() == WarmupData.ZERO, random));
    }

    /**
     * {@code count} elements of {@code type}: zeros, or 0 and 1 at random (0.0 to 1.0 for FP32 and FP64), which
     * most models take (token ids, masks, pixels); a BYTES element is one letter, so every one takes 5 bytes.
     */
    static ByteBuffer data(Datatype type, int count, boolean zero, SplittableRandom random) {
        ByteBuffer data = ByteBuffer.allocate(type.fixedSize() ? count * type.size() : count * 5)
                .order(ByteOrder.LITTLE_ENDIAN);
        for (int e = 0; e < count; e++) {
            int v = zero ? 0 : random.nextInt(2);
            switch (type) {
                case BOOL, UINT8, INT8 -> data.put((byte) v);
                case UINT16, INT16 -> data.putShort((short) v);
                case UINT32, INT32 -> data.putInt(v);
                case UINT64, INT64 -> data.putLong(v);
                case FP16 -> data.putShort((short) (v == 0 ? 0 : 0x3C00));
                case BF16 -> data.putShort((short) (v == 0 ? 0 : 0x3F80));
                case FP32 -> data.putFloat(zero ? 0f : (float) random.nextDouble());
                case FP64 -> data.putDouble(zero ? 0d : random.nextDouble());
                case BYTES -> data.putInt(1).put((byte) ('a' + v));
            }
        }
        return data.flip();
    }

    /** One row from {@code <version>/warmup/<input>}, repeated for each row of the batch. */
    private static Tensor fromFile(ServedModel model, TensorSpec spec, long[] shape, int batch) throws IOException {
        Path file = model.source().file().resolveSibling("warmup").resolve(spec.name());
        byte[] row = Files.readAllBytes(file);
        if (spec.datatype().fixedSize()) {
            long[] rowShape = shape.clone();
            rowShape[0] = 1;
            long perRow = Tensor.elementCount(rowShape) * spec.datatype().size();
            if (row.length != perRow) {
                throw new IOException("warmup file " + file + " has " + row.length + " bytes; input '"
                        + spec.name() + "' with row shape " + java.util.Arrays.toString(rowShape)
                        + " needs " + perRow + " (set warmup.dynamic-dim-size to match)");
            }
        }
        int rows = spec.dynamicBatch() ? batch : 1;
        ByteBuffer data = ByteBuffer.allocate(row.length * rows);
        for (int r = 0; r < rows; r++) {
            data.put(row);
        }
        return new Tensor(spec.name(), spec.datatype(), shape, data.flip());
    }
}
