package io.sluice.batching;

import io.sluice.inference.Datatype;
import io.sluice.inference.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Stacks the inputs of several jobs along the batch dimension and cuts the outputs back into each
 * job's own rows. Tensors are in wire layout, so stacking is byte concatenation and splitting is
 * slicing, for BYTES too.
 */
final class Batches {

    private Batches() {}

    /** The batch inputs: input i of every job, concatenated in job order. */
    static List<Tensor> stack(List<Job> jobs) {
        if (jobs.size() == 1) {
            return jobs.get(0).inputs;
        }
        List<Tensor> first = jobs.get(0).inputs;
        List<Tensor> stacked = new ArrayList<>(first.size());
        for (int i = 0; i < first.size(); i++) {
            long bytes = 0;
            long rows = 0;
            for (Job job : jobs) {
                bytes += job.inputs.get(i).byteSize();
                rows += job.inputs.get(i).shape()[0];
            }
            // the batcher keeps a batch's inputs within DynamicBatcher.MAX_BATCH_BYTES
            ByteBuffer data = ByteBuffer.allocateDirect(Math.toIntExact(bytes)).order(ByteOrder.LITTLE_ENDIAN);
            for (Job job : jobs) {
                data.put(job.inputs.get(i).view());
            }
            Tensor t = first.get(i);
            long[] shape = t.shape().clone();
            shape[0] = rows;
            stacked.add(new Tensor(t.name(), t.datatype(), shape, data.flip()));
        }
        return stacked;
    }

    /**
     * Cuts every output into per-job pieces of {@code job.rows} rows.
     *
     * @return for each job, its outputs
     * @throws NotABatch when an output's first dimension is not the batch's rows
     */
    static List<List<Tensor>> split(List<Job> jobs, List<Tensor> outputs) {
        if (jobs.size() == 1) {
            return List.of(outputs);
        }
        long total = jobs.stream().mapToLong(j -> j.rows).sum();
        List<List<Tensor>> perJob = new ArrayList<>(jobs.size());
        for (int j = 0; j < jobs.size(); j++) {
            perJob.add(new ArrayList<>(outputs.size()));
        }
        for (Tensor out : outputs) {
            if (out.shape().length == 0 || out.shape()[0] != total) {
                throw new NotABatch("output '" + out.name() + "' has shape " + out.shapeText()
                        + ", which does not lead with the batch of " + total + " rows; a model whose variable first"
                        + " dimension is not a batch (a count of detections, say) needs batching.max-batch-size=1");
            }
            long elementsPerRow = total == 0 ? 0 : out.elementCount() / total;
            ByteBuffer data = out.view();
            for (int j = 0; j < jobs.size(); j++) {
                int rows = jobs.get(j).rows;
                int start = data.position();
                skip(data, out.datatype(), elementsPerRow * rows);
                long[] shape = out.shape().clone();
                shape[0] = rows;
                ByteBuffer piece = data.duplicate().position(start).limit(data.position()).slice();
                perJob.get(j).add(new Tensor(out.name(), out.datatype(), shape, piece));
            }
        }
        return perJob;
    }

    private static void skip(ByteBuffer data, Datatype datatype, long elements) {
        if (datatype.fixedSize()) {
            data.position(Math.toIntExact(data.position() + elements * datatype.size()));
            return;
        }
        for (long e = 0; e < elements; e++) {
            int length = data.getInt();
            data.position(data.position() + length);
        }
    }

    /** The model's outputs do not lead with the batch's rows: its variable first dimension is not a batch. */
    static final class NotABatch extends IllegalStateException {
        NotABatch(String message) {
            super(message);
        }
    }
}
