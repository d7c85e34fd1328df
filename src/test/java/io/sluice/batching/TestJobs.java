package io.sluice.batching;

import io.sluice.inference.Datatype;
import io.sluice.inference.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** Jobs of one INT32 row holding a value, for the scheduler's tests, answered into a future. */
final class TestJobs {

    private TestJobs() {}

    /** A job that runs alone: it has no signature to share a batch by. */
    static Job job(int value, CompletableFuture<List<Tensor>> result) {
        return new Job(List.of(tensor(value)), List.of(), 1, null, 0, Long.MAX_VALUE, null, result::complete,
                result::completeExceptionally);
    }

    /** A job that may share a batch with the others of its shape. */
    static Job batchable(int value, CompletableFuture<List<Tensor>> result) {
        return new Job(List.of(tensor(value)), List.of(), 1, "X:INT32", 0, Long.MAX_VALUE, null, result::complete,
                result::completeExceptionally);
    }

    /** One INT32 row holding {@code value}. */
    static Tensor tensor(int value) {
        return new Tensor("X", Datatype.INT32, new long[] {1},
                ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, value));
    }

    /** The value the first row of the first tensor holds. */
    static int value(List<Tensor> tensors) {
        return tensors.get(0).data().getInt(0);
    }

    /** Instances of {@code scheduler} waiting for work at {@code now}. */
    static long waiting(ModelScheduler scheduler, long now) {
        return scheduler.idleNanos(now + 1) - scheduler.idleNanos(now);
    }
}
