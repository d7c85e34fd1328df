package io.sluice.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.sluice.inference.Datatype;
import io.sluice.inference.InferRequest;
import io.sluice.inference.Protocol;
import io.sluice.inference.Tensor;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Not a test: the heap an L1 entry holds against {@link CachedOutputs#weight}, for its constants. Fills an L1 as
 * {@link ResponseCache} builds it with 200,000 entries of {@code tensors} [1, 4] FP32 outputs and compares the
 * heap used before and after. Run after {@code ./mvnw test-compile} with the test classpath ({@code ./mvnw
 * dependency:build-classpath -Dmdep.outputFile=cp.txt}): {@code java -XX:+UseSerialGC -Xmx2g -cp
 * target/classes:target/test-classes:$(cat cp.txt) io.sluice.cache.CacheWeightProbe 1} (and {@code 2}).
 */
public final class CacheWeightProbe {

    private static final int ENTRIES = 200_000;

    private CacheWeightProbe() {}

    public static void main(String[] args) {
        int tensors = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        Cache<CacheKey, List<Tensor>> l1 = Caffeine.newBuilder().maximumWeight(Long.MAX_VALUE)
                .weigher((CacheKey k, List<Tensor> v) -> (int) Math.min(Integer.MAX_VALUE, CachedOutputs.weight(v)))
                .expireAfterWrite(Duration.ofHours(1)).executor(Runnable::run).build();
        long before = used();
        long weights = 0;
        for (int i = 0; i < ENTRIES; i++) {
            Tensor input = new Tensor("INPUT0", Datatype.FP32, new long[] {1, 4}, ByteBuffer.allocate(16).putInt(0, i));
            CacheKey key = CacheKey.of("tenant", "model", "1", "contents", new InferRequest("model", null, null, Map.of(),
                    List.of(input), List.of(), 0, InferRequest.NO_DEADLINE, Protocol.REST));
            List<Tensor> outputs = new ArrayList<>();
            for (int t = 0; t < tensors; t++) {
                outputs.add(new Tensor("OUTPUT" + t, Datatype.FP32, new long[] {1, 4}, ByteBuffer.allocate(16).putInt(0, i)));
            }
            List<Tensor> entry = CachedOutputs.compact(outputs);
            l1.put(key, entry);
            weights += CachedOutputs.weight(entry);
        }
        long after = used();
        System.out.printf("%d entries of %d tensor(s): heap %.1f bytes an entry, weight %.1f%n", l1.estimatedSize(),
                tensors, (after - before) / (double) ENTRIES, weights / (double) ENTRIES);
    }

    private static long used() {
        for (int i = 0; i < 5; i++) {
            System.gc();
        }
        Runtime runtime = Runtime.getRuntime();
        return runtime.totalMemory() - runtime.freeMemory();
    }
}
