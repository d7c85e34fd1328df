package io.sluice.model;

import io.sluice.config.ModelSettings;
import io.sluice.config.WarmupData;
import io.sluice.inference.Datatype;
import io.sluice.inference.InferRequest;
import io.sluice.inference.InferResponse;
import io.sluice.inference.ModelMetadata;
import io.sluice.inference.Protocol;
import io.sluice.inference.Tensor;
import io.sluice.inference.TensorSpec;
import io.sluice.inference.WireWarmup;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.jboss.logging.Logger;

/**
 * Warms a model through the real execution path ({@link ServedModel#warm}: validation, scheduler, batcher,
 * runtime, but not the admission guard, whose timeout is for requests) at each configured batch size,
 * {@code count} times, with zeros, random data or sample files, then the rest of a request's path once ({@link
 * #requestPath}). A failing sample fails the load.
 */
final class Warmup {

    private static final Logger LOG = Logger.getLogger(Warmup.class);
    /** The longest one warmup request may take, and the row check's two runs ({@link RowIndependence}). */
    static final Duration TIMEOUT = Duration.ofMinutes(10);

    private Warmup() {}

    /**
     * The first warmup request, at the smallest batch size: a copy of its inputs, which the model has run (its
     * known-good input, {@link io.sluice.batching.ModelScheduler#knownGood}), and the model's answer.
     */
    record Warmed(List<Tensor> knownGood, InferResponse answer) {}

    /**
     * Runs every warmup request and waits for each; throws what the first failure threw. Returns the first request
     * at the smallest batch size and its answer; null when warmup runs nothing ({@code warmup.count=0}).
     */
    static Warmed run(ServedModel model, List<TensorSpec> inputs, boolean batchable) throws IOException {
        ModelSettings s = model.settings();
        List<Integer> sizes = batchable ? s.warmupBatchSizes() : List.of(1);
        SplittableRandom random = new SplittableRandom(42);
        int smallest = sizes.stream().min(Integer::compare).orElse(1); // configured sizes come in the order given
        Warmed first = null;
        for (int batch : sizes) {
            for (int i = 0; i < s.warmupCount(); i++) {
                List<Tensor> tensors = new ArrayList<>();
                for (TensorSpec spec : inputs) {
                    tensors.add(sample(model, spec, batchable, batchable ? batch : 1, random));
                }
                List<Tensor> copy = first == null && batch == smallest ? tensors.stream().map(Warmup::copy).toList() : null;
                InferRequest request = new InferRequest(model.name(), model.version(), "warmup", Map.of(),
                        tensors, List.of(), 0, InferRequest.NO_DEADLINE, Protocol.INTERNAL);
                InferResponse response = model.warm(request).await().atMost(TIMEOUT);
                if (batchable && batch > 1) {
                    checkBatchDimension(response.outputs(), batch);
                }
                if (copy != null) {
                    first = new Warmed(copy, response);
                }
            }
        }
        return first;
    }

    /**
     * The most bytes of inputs and outputs together that the adapters' warmup carries as the model ran them; above
     * it each tensor goes as its first element alone. The adapters' code is the same at any size, and a large model's
     * answer written as JSON text (about 16 bytes a float while it is built) must not fail a load that has warmed.
     */
    static final long WIRE_WARMUP_BYTES = 1 << 20;

    /** The most bytes of a BYTES element the adapters' warmup carries: its bytes are opaque to them. */
    static final int WIRE_WARMUP_ELEMENT_BYTES = 64;

    /**
     * The rest of a client's request path, once, around the model's answer to its known-good input (its first
     * warmup request, at the smallest batch size): the admission guard ({@link io.sluice.admission.ModelGuard#warm},
     * which does not run the model again), then each adapter's own parsing and writing of such a request and that
     * answer ({@link WireWarmup}), cut to one element a tensor past {@link #WIRE_WARMUP_BYTES}. Without it a
     * client's first request loaded and interpreted that code: about 100 ms on a tiny model, against 37-39 ms with
     * it. A step that fails, out of memory or with a class that does not link included, is logged and the model
     * serves on; only an error the JVM cannot go on from ({@link WireWarmup#survivable}) fails the load.
     */
    static void requestPath(ServedModel model, List<Tensor> knownGood, InferResponse answer,
            Iterable<WireWarmup> wires) {
        io.sluice.admission.ModelGuard guard = model.guard();
        try {
            if (guard != null) { // null once a shutdown has taken it
                guard.warm(answer).await().atMost(TIMEOUT);
            }
        } catch (Exception | Error e) {
            skipped(model, e, "the admission guard's warmup failed, so its first request loads that code");
        }
        ModelMetadata metadata;
        InferRequest request;
        InferResponse carried = answer;
        List<WireWarmup> adapters = new ArrayList<>();
        try {
            metadata = model.metadata(List.of(model.version()));
            List<Tensor> inputs = knownGood;
            if (bytes(knownGood) + bytes(answer.outputs()) > WIRE_WARMUP_BYTES) {
                inputs = knownGood.stream().map(Warmup::firstElement).toList();
                carried = new InferResponse(answer.model(), answer.version(), answer.id(), answer.parameters(),
                        answer.outputs().stream().map(Warmup::firstElement).toList());
            }
            request = request(model, inputs);
            wires.forEach(adapters::add); // an adapter's class is loaded and initialized here
        } catch (Exception | Error e) {
            skipped(model, e, "no request for the adapters' warmup, so its first request loads their code");
            return;
        }
        for (WireWarmup wire : adapters) {
            String protocol = "an adapter's";
            try {
                protocol = wire.protocol(); // the first call on a bean makes it: it may fail as warm would
                wire.warm(metadata, request, carried);
            } catch (Exception | Error e) {
                skipped(model, e, "the " + protocol + " warmup failed, so its first " + protocol
                        + " request loads that code");
            }
        }
    }

    /**
     * Logs {@code e}, which a step of {@link #requestPath} threw, and returns so that the model serves on; rethrows an
     * error the JVM cannot go on from ({@link WireWarmup#survivable}), which fails the load as any other would.
     */
    private static void skipped(ServedModel model, Throwable e, String what) {
        if (!WireWarmup.survivable(e)) {
            throw (Error) e;
        }
        LOG.warnf(e, "model %s/%s: %s", model.name(), model.version(), what);
    }

    private static long bytes(List<Tensor> tensors) {
        return tensors.stream().mapToLong(Tensor::byteSize).sum();
    }

    /**
     * {@code t}'s first element alone, every dimension cut to 1 (0 stays 0: an empty tensor is small already), with
     * its own copy of the bytes; a BYTES element keeps at most its first {@link #WIRE_WARMUP_ELEMENT_BYTES} (one
     * image or document may be megabytes), under a length prefix that says so.
     */
    static Tensor firstElement(Tensor t) {
        long[] shape = t.shape().clone();
        for (int i = 0; i < shape.length; i++) {
            shape[i] = Math.min(shape[i], 1);
        }
        ByteBuffer data = t.view(); // little-endian, as a BYTES element's length is
        ByteBuffer bytes;
        if (Tensor.elementCount(shape) == 0) {
            bytes = ByteBuffer.allocateDirect(0);
        } else if (t.datatype().fixedSize()) {
            bytes = ByteBuffer.allocateDirect(t.datatype().size());
            bytes.put(data.limit(bytes.capacity()));
        } else {
            int length = Math.max(0, Math.min(data.getInt(), Math.min(data.remaining(), WIRE_WARMUP_ELEMENT_BYTES)));
            bytes = ByteBuffer.allocateDirect(Integer.BYTES + length).order(ByteOrder.LITTLE_ENDIAN);
            bytes.putInt(length).put(data.limit(data.position() + length));
        }
        return new Tensor(t.name(), t.datatype(), shape, bytes.flip());
    }

    /** A request of {@code inputs}, each with its own copy of the bytes, which no adapter consumes or frees. */
    private static InferRequest request(ServedModel model, List<Tensor> inputs) {
        return new InferRequest(model.name(), model.version(), "warmup", Map.of(),
                inputs.stream().map(Warmup::copy).toList(), List.of(), 0, InferRequest.NO_DEADLINE, Protocol.INTERNAL);
    }

    /** {@code t} with its own copy of the bytes, which no run consumes or frees. */
    private static Tensor copy(Tensor t) {
        ByteBuffer data = t.data().duplicate();
        ByteBuffer bytes = ByteBuffer.allocateDirect(data.remaining()).order(data.order());
        bytes.put(data).flip();
        return new Tensor(t.name(), t.datatype(), t.shape().clone(), bytes);
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
        // runs the lengths requests bring.
        boolean rows = rows(spec, batchable);
        if (s.warmupData() == WarmupData.FILES) {
            return fromFile(model, spec, rows, batch);
        }
        for (int d = 0; d < shape.length; d++) {
            if (shape[d] == -1) {
                shape[d] = d == 0 && rows ? batch : s.warmupDynamicDimSize();
            }
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

    /** Whether {@code spec}'s first dimension is the rows: variable, and the model batches or more dimensions follow. */
    private static boolean rows(TensorSpec spec, boolean batchable) {
        return spec.dynamicBatch() && (batchable || spec.shape().length > 1);
    }

    /**
     * The sample in {@code <version>/warmup/<input>}: one row when the first dimension is the rows (repeated for
     * each row of the batch), else the whole tensor. A variable dimension of the sample takes its size from the file
     * when it is the only one (a sequence of any length: {@code input_ids} [-1] in a model that does not batch, or
     * the tokens of a row), else {@code warmup.dynamic-dim-size}, and a fixed-size file must then hold exactly the
     * sample.
     */
    private static Tensor fromFile(ServedModel model, TensorSpec spec, boolean rows, int batch) throws IOException {
        Path file = model.source().file().resolveSibling("warmup").resolve(spec.name());
        byte[] sample;
        try {
            sample = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new IOException("warmup file " + file + " is missing: warmup.data=files needs one per input", e);
        } catch (IOException e) { // "Is a directory" alone names no file
            throw new IOException("warmup file " + file + " cannot be read: " + e.getMessage(), e);
        }
        long[] one = spec.shape().clone();
        int first = rows ? 1 : 0;
        if (rows) {
            one[0] = 1;
        }
        int variable = 0;
        for (int d = first; d < one.length; d++) {
            variable += one[d] == -1 ? 1 : 0;
        }
        if (variable == 1 && spec.datatype().fixedSize()) {
            long others = 1;
            int at = -1;
            for (int d = 0; d < one.length; d++) {
                if (d >= first && one[d] == -1) {
                    at = d;
                } else {
                    others *= one[d];
                }
            }
            long unit = others * spec.datatype().size();
            if (unit == 0 || sample.length == 0 || sample.length % unit != 0) {
                throw new IOException("warmup file " + file + " has " + sample.length + " bytes; input '" + spec.name()
                        + "' of shape " + java.util.Arrays.toString(spec.shape()) + " needs a positive multiple of " + unit);
            }
            one[at] = sample.length / unit;
        } else {
            for (int d = first; d < one.length; d++) {
                one[d] = one[d] == -1 ? model.settings().warmupDynamicDimSize() : one[d];
            }
            long size = Tensor.elementCount(one) * spec.datatype().size();
            if (spec.datatype().fixedSize() && sample.length != size) {
                throw new IOException("warmup file " + file + " has " + sample.length + " bytes; input '" + spec.name()
                        + "' with " + (rows ? "row " : "") + "shape " + java.util.Arrays.toString(one) + " needs " + size
                        + " (set warmup.dynamic-dim-size to match)");
            }
        }
        int copies = rows ? batch : 1;
        if (rows) {
            one[0] = copies;
        }
        ByteBuffer data = ByteBuffer.allocate(sample.length * copies);
        for (int r = 0; r < copies; r++) {
            data.put(sample);
        }
        return new Tensor(spec.name(), spec.datatype(), one, data.flip());
    }
}
