package io.sluice.model;

import io.sluice.config.ModelSettings;
import io.sluice.inference.Classification;
import io.sluice.inference.Datatype;
import io.sluice.inference.Tensor;
import io.sluice.inference.TensorSpec;
import io.sluice.runtime.OnnxSession;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Whether a model whose inputs and outputs all have a variable first dimension really treats it as a batch,
 * so that the scheduler may stack requests along it. The shapes cannot tell: {@code input_ids: [-1]} may be
 * one sequence of tokens, and stacking two requests would make one longer sequence whose attention spans
 * both, each answered with the right shape and the wrong values. So the model runs two different rows,
 * {@code [a, b]}, and the same rows swapped, {@code [b, a]}: in a batch each row's outputs depend on that
 * row alone, wherever it sits, so {@code a}'s outputs must match in both runs. Dynamic quantization, whose
 * scale spans the whole tensor, still passes: swapping rows does not change it. So, though, does a model
 * that mixes its rows without regard to their order (a mean or a max over them, attention without positions):
 * the check finds rows that are a sequence, not every way rows can meet.
 *
 * <p>A model that fails the check is served without batching, with a warning: a model that draws random
 * numbers fails it too, and only loses its batches. A model that cannot run the check's data (0 and 1 at
 * random) keeps batching; its warmup says whether it runs at all.
 */
final class RowIndependence {

    private static final Logger LOG = Logger.getLogger(RowIndependence.class);
    /** Differences a reordered batch may show from kernels blocked another way: far below a mixed row's. */
    private static final double RELATIVE = 1e-3;
    /** The same for 16-bit floats, which hold 11 or 8 bits. */
    private static final double HALF_RELATIVE = 2e-2;
    private static final int TRIES = 16;

    private RowIndependence() {}

    /** {@link #holds(String, OnnxSession, ModelSettings, Executor)} with warmup's limit of one request, 10 minutes. */
    static boolean holds(String model, OnnxSession session, ModelSettings s) {
        return holds(model, session, s, CompletableFuture.delayedExecutor(Warmup.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
    }

    /**
     * True when {@code session}'s rows are independent, or the check could not run; false (and warns) otherwise.
     * The check's two runs are bounded as a warmup request is: {@code expiry} runs a task when their time is up,
     * which stops them ({@link OnnxSession#stopRuns()}) unless they are over, so a model whose run never ends (a
     * loop without end) fails its load instead of staying LOADING. ONNX Runtime ends a run between two nodes: a run
     * stuck inside one node (a device that hangs) is not ended, and this waits on; abandoning it would leave the
     * load to free a session still running, which crashes the process.
     *
     * @throws IllegalStateException when the runs were stopped: their time was up, or the server is stopping
     *     ({@link ServedModel#stopChecks()}); the session can run nothing more
     */
    static boolean holds(String model, OnnxSession session, ModelSettings s, Executor expiry) {
        if (!session.inputs().stream().allMatch(i -> OnnxSession.canFeed(i.datatype()))) {
            return true; // the model fails to load for that reason
        }
        List<Tensor> rows = null;
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < TRIES && rows == null; i++) {
            rows = twoRows(session.inputs(), s.warmupDynamicDimSize(), random);
        }
        if (rows == null) {
            return true; // inputs too small to hold two different rows
        }
        List<Tensor> ab = null;
        List<Tensor> ba = null;
        Expiry time = new Expiry(session);
        expiry.execute(time::up);
        RuntimeException failed = null;
        try {
            ab = session.run(rows, List.of());
            ba = session.run(rows.stream().map(RowIndependence::swapped).toList(), List.of());
        } catch (RuntimeException e) {
            failed = e;
        }
        boolean expired = !time.over(); // once over, the expiry leaves the session alone: the load may close it
        if (expired || session.stopped()) {
            throw new IllegalStateException(expired
                    ? "its row check (two runs of 2 rows, to see whether its first dimension is a batch) did not end within "
                            + Warmup.TIMEOUT.toMinutes() + " minutes; set batching.max-batch-size=1 to skip it"
                    : "the server stopped while the model loaded");
        }
        if (failed != null) {
            LOG.infof("model %s: its rows could not be checked for independence (%s); it batches, as its shapes say",
                    model, failed.getMessage());
            return true;
        }
        for (int i = 0; i < ab.size(); i++) {
            Tensor x = ab.get(i);
            Tensor y = ba.get(i);
            if (x.shape().length == 0 || x.shape()[0] != 2 || !java.util.Arrays.equals(x.shape(), y.shape())) {
                continue; // not a batch by its shape: the batched warmup fails the model with the reason
            }
            if (!sameRows(x, y)) { // ONNX Runtime's own outputs: well formed
                LOG.warnf("model %s: output '%s' of a row changes with the row beside it, so its variable first dimension "
                        + "is not a batch (a sequence, say); it is served one request at a time. Set "
                        + "batching.max-batch-size=1 to say so and skip this check", model, x.name());
                return false;
            }
        }
        return true;
    }

    /** The check's time: whichever comes first, its end or its expiry, and the expiry then stops the runs. */
    private static final class Expiry {
        private final OnnxSession session;
        private boolean over;
        private boolean expired;

        Expiry(OnnxSession session) {
            this.session = session;
        }

        /** The time is up: stops the runs unless the check is over (a lock, so no stop reaches a session closed since). */
        synchronized void up() {
            if (!over) {
                over = true;
                expired = true;
                session.stopRuns();
            }
        }

        /** The runs are over; false when the time was up first. */
        synchronized boolean over() {
            over = true;
            return !expired;
        }
    }

    /** Each input as two rows, or null when all the inputs' two rows came out the same. */
    private static List<Tensor> twoRows(List<TensorSpec> inputs, int dynamicDimSize, SplittableRandom random) {
        List<Tensor> rows = new ArrayList<>();
        boolean differ = false;
        for (TensorSpec spec : inputs) {
            long[] shape = spec.shape().clone();
            shape[0] = 2;
            for (int d = 1; d < shape.length; d++) {
                shape[d] = shape[d] == -1 ? dynamicDimSize : shape[d];
            }
            ByteBuffer data = Warmup.data(spec.datatype(), Math.toIntExact(Tensor.elementCount(shape)), false, random);
            int half = data.remaining() / 2; // every element of the warmup's data has one size, BYTES too
            differ |= !data.slice(0, half).equals(data.slice(half, half));
            rows.add(new Tensor(spec.name(), spec.datatype(), shape, data));
        }
        return differ ? rows : null;
    }

    private static Tensor swapped(Tensor t) {
        ByteBuffer data = t.view();
        int half = data.remaining() / 2;
        ByteBuffer out = ByteBuffer.allocate(2 * half).order(ByteOrder.LITTLE_ENDIAN);
        out.put(data.slice(half, half)).put(data.slice(0, half)).flip();
        return new Tensor(t.name(), t.datatype(), t.shape().clone(), out);
    }

    /**
     * Row 0 of {@code x} is row 1 of {@code y} and the other way round, floats within {@link #RELATIVE}; both
     * of shape {@code [2, ...]}. BYTES rows are as many elements each, whatever their lengths.
     */
    static boolean sameRows(Tensor x, Tensor y) {
        if (x.datatype() == Datatype.BYTES) {
            List<ByteBuffer> a = elements(x);
            List<ByteBuffer> b = elements(y);
            int half = a.size() / 2;
            return a.size() == b.size() && a.subList(0, half).equals(b.subList(half, a.size()))
                    && a.subList(half, a.size()).equals(b.subList(0, half));
        }
        ByteBuffer a = x.view();
        ByteBuffer b = y.view();
        if (a.remaining() != b.remaining() || a.remaining() % 2 != 0) {
            return false;
        }
        int half = a.remaining() / 2;
        return same(x.datatype(), a.slice(0, half), b.slice(half, half))
                && same(x.datatype(), a.slice(half, half), b.slice(0, half));
    }

    /** A BYTES tensor's elements, each without its length prefix. */
    private static List<ByteBuffer> elements(Tensor t) {
        ByteBuffer data = t.view().order(ByteOrder.LITTLE_ENDIAN);
        List<ByteBuffer> out = new ArrayList<>();
        while (data.remaining() >= 4) {
            int length = data.getInt();
            out.add(data.slice(data.position(), length));
            data.position(data.position() + length);
        }
        return out;
    }

    private static boolean same(Datatype type, ByteBuffer a, ByteBuffer b) {
        a.order(ByteOrder.LITTLE_ENDIAN);
        b.order(ByteOrder.LITTLE_ENDIAN);
        return switch (type) {
            case FP32 -> close(a, b, Float.BYTES, ByteBuffer::getFloat, RELATIVE);
            case FP64 -> close(a, b, Double.BYTES, ByteBuffer::getDouble, RELATIVE);
            case FP16, BF16 -> close(a, b, Short.BYTES, (d, i) -> half(type, d.getShort(i)), HALF_RELATIVE);
            default -> a.equals(b); // integers, booleans and strings exactly
        };
    }

    /** Reads the floating-point element at a byte index. */
    private interface Element {
        double at(ByteBuffer data, int index);
    }

    /** Every element of {@code a} {@link #close} to {@code b}'s, judged against {@code a}'s largest finite magnitude. */
    private static boolean close(ByteBuffer a, ByteBuffer b, int size, Element element, double relative) {
        double scale = 0;
        for (int i = 0; i < a.remaining(); i += size) {
            scale = larger(scale, element.at(a, i));
        }
        for (int i = 0; i < a.remaining(); i += size) {
            if (!close(element.at(a, i), element.at(b, i), scale, relative)) {
                return false;
            }
        }
        return true;
    }

    /** The larger of {@code scale} and |v|, a NaN or an infinity counting for nothing (they must match exactly). */
    private static double larger(double scale, double v) {
        return Double.isFinite(v) ? Math.max(scale, Math.abs(v)) : scale;
    }

    private static double half(Datatype type, short bits) {
        return type == Datatype.BF16 ? Float.intBitsToFloat(bits << 16) : Classification.half(bits);
    }

    /**
     * Equal, both NaN, or finite and within {@code relative} of the row's largest finite magnitude (a near-zero
     * value is judged by it).
     */
    private static boolean close(double x, double y, double scale, double relative) {
        if (Double.compare(x, y) == 0 || Double.isNaN(x) && Double.isNaN(y)) {
            return true;
        }
        return Double.isFinite(x) && Double.isFinite(y) && Math.abs(x - y) <= relative * Math.max(scale, Double.MIN_NORMAL);
    }
}
