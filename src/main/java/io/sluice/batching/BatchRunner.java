package io.sluice.batching;

import io.sluice.inference.Tensor;
import java.util.List;

/** Runs one batch; the only place a model executes. */
@FunctionalInterface
public interface BatchRunner {
    /**
     * Runs {@code inputs}, returning the {@code outputs} requested (all when empty); {@code traces}
     * are the jobs' trace contexts, in batch order.
     */
    List<Tensor> run(List<Tensor> inputs, List<String> outputs, List<Object> traces);
}
