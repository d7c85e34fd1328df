package io.sluice;

import io.sluice.inference.InferRequest;
import io.sluice.inference.InferResponse;
import io.sluice.inference.ModelMetadata;
import io.sluice.inference.WireWarmup;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Test hook: a third adapter beside REST and gRPC, which records what warmup hands every adapter, and fails for
 * any model named {@value #FAILS}, as an adapter with a bug would. Other tests' models pass through.
 */
@ApplicationScoped
public class RecordedWireWarmup implements WireWarmup {

    /** The model this adapter fails on. */
    public static final String FAILS = "wire-warmup-fails";

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
        CALLS.add(new Call(metadata, request, answer));
        if (FAILS.equals(request.model())) {
            throw new IllegalStateException("an adapter that cannot carry this model");
        }
    }
}
