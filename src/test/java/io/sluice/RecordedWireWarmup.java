package io.sluice;

import io.sluice.inference.InferRequest;
import io.sluice.inference.InferResponse;
import io.sluice.inference.ModelMetadata;
import io.sluice.inference.WireWarmup;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Test hook: a third adapter beside REST and gRPC, which records what warmup hands every adapter (the last {@value
 * #KEPT} calls, since it is a bean of every test's application), fails for any model named {@value #FAILS}, as an
 * adapter with a bug would, and runs out of memory on {@value #OUT_OF_MEMORY}. Other tests' models pass through.
 */
@ApplicationScoped
public class RecordedWireWarmup implements WireWarmup {

    /** The model this adapter fails on. */
    public static final String FAILS = "wire-warmup-fails";

    /** The model this adapter throws {@link OutOfMemoryError} on. */
    public static final String OUT_OF_MEMORY = "wire-warmup-out-of-memory";

    /** How many calls are kept. */
    static final int KEPT = 64;

    /** One call. */
    public record Call(ModelMetadata metadata, InferRequest request, InferResponse answer) {}

    private static final List<Call> CALLS = new CopyOnWriteArrayList<>();

    /** Every call so far, in this JVM. */
    public static List<Call> calls() {
        return List.copyOf(CALLS);
    }

    @Override
    public String protocol() {
        return "test";
    }

    @Override
    public void warm(ModelMetadata metadata, InferRequest request, InferResponse answer) {
        synchronized (CALLS) {
            CALLS.add(new Call(metadata, request, answer));
            if (CALLS.size() > KEPT) {
                CALLS.remove(0);
            }
        }
        if (FAILS.equals(request.model())) {
            throw new IllegalStateException("an adapter that cannot carry this model");
        }
        if (OUT_OF_MEMORY.equals(request.model())) {
            throw new OutOfMemoryError("test: an adapter that ran out of memory on this model");
        }
    }
}
