package io.sluice.cache;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.inference.Datatype;
import io.sluice.inference.InferRequest;
import io.sluice.inference.Protocol;
import io.sluice.inference.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the key covers, and what it leaves out. */
class CacheKeyTest {

    private static Tensor tensor(String name, long[] shape, float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return new Tensor(name, Datatype.FP32, shape, b.flip());
    }

    private static InferRequest request(List<Tensor> inputs, List<String> outputs, Map<String, Object> params,
            Protocol protocol) {
        return new InferRequest("m", null, "id-" + protocol, params, inputs, outputs, 0, InferRequest.NO_DEADLINE, protocol);
    }

    private static CacheKey key(String version, List<Tensor> inputs, List<String> outputs, Map<String, Object> params) {
        return CacheKey.of("t", "m", version, "contents", request(inputs, outputs, params, Protocol.REST));
    }

    private final List<Tensor> x = List.of(tensor("A", new long[] {1, 2}, 1, 2), tensor("B", new long[] {1, 2}, 3, 4));

    @Test
    void theKeyNamesTheBuildAsMavenWroteIt() {
        // filtered at build time: a version and a UTC time, never the placeholder or the fallback
        assertThat(CacheKey.BUILD).matches("[^@]+@\\d{8}T\\d{6}\\.\\d{3}Z");
    }

    @Test
    void theSameTensorsGiveTheSameKeyWhateverTheProtocolIdOrInputOrder() {
        CacheKey rest = CacheKey.of("t", "m", "1", "contents", request(x, List.of(), Map.of(), Protocol.REST));
        CacheKey grpc = CacheKey.of("t", "m", "1", "contents", request(List.of(x.get(1), x.get(0)), List.of(), Map.of(), Protocol.GRPC));
        assertThat(grpc).isEqualTo(rest).hasSameHashCodeAs(rest);
        // wire-only and scheduling parameters do not change outputs
        assertThat(key("1", x, List.of(), Map.of("priority", 2L, "timeout", 5000L, "binary_data_output", true)))
                .isEqualTo(rest);
    }

    @Test
    void aNameOrParameterWithALoneSurrogateNeverSharesAKeyWithAQuestionMark() {
        // JSON's \\ud800 reaches the key as a lone surrogate, which UTF-8 writes as '?'
        assertThat(key("1", List.of(tensor("in\ud800", new long[] {1}, 1)), List.of(), Map.of()))
                .isNotEqualTo(key("1", List.of(tensor("in?", new long[] {1}, 1)), List.of(), Map.of()));
        assertThat(key("1", x, List.of(), Map.of("p", "a\udc00"))).isNotEqualTo(key("1", x, List.of(), Map.of("p", "a?")));
        assertThat(key("1", x, List.of("out\ud800"), Map.of())).isNotEqualTo(key("1", x, List.of("out?"), Map.of()));
    }

    @Test
    void versionsOutputsParametersModelsAndTensorsNeverCollide() {
        CacheKey base = key("1", x, List.of(), Map.of());
        assertThat(key("2", x, List.of(), Map.of())).isNotEqualTo(base);
        // tenants never share an entry
        assertThat(CacheKey.of("another tenant", "m", "1", "contents", request(x, List.of(), Map.of(), Protocol.REST)))
                .isNotEqualTo(base);
        assertThat(CacheKey.of("t", "other", "1", "contents", request(x, List.of(), Map.of(), Protocol.REST))).isNotEqualTo(base);
        // the same version number over other files, or run on another provider
        assertThat(CacheKey.of("t", "m", "1", "other contents", request(x, List.of(), Map.of(), Protocol.REST)))
                .isNotEqualTo(base);
        assertThat(key("1", x, List.of("SUM"), Map.of())).isNotEqualTo(base);
        // the top classes of an output are not its values
        InferRequest classified = new InferRequest("m", null, "id", Map.of(), x, List.of("SUM"), 0, InferRequest.NO_DEADLINE,
                Protocol.REST, Map.of("SUM", 3));
        assertThat(CacheKey.of("t", "m", "1", "contents", classified)).isNotEqualTo(key("1", x, List.of("SUM"), Map.of()));
        assertThat(key("1", x, List.of("SUM", "DIFF"), Map.of())).isNotEqualTo(key("1", x, List.of("DIFF", "SUM"), Map.of()));
        assertThat(key("1", x, List.of(), Map.of("temperature", 0.5))).isNotEqualTo(base);
        assertThat(key("1", x, List.of(), Map.of("temperature", 0.5)))
                .isNotEqualTo(key("1", x, List.of(), Map.of("temperature", "0.5")));
        // same bytes, another shape; same values, another datatype
        List<Tensor> reshaped = List.of(tensor("A", new long[] {2, 1}, 1, 2), x.get(1));
        assertThat(key("1", reshaped, List.of(), Map.of())).isNotEqualTo(base);
        Tensor ints = new Tensor("A", Datatype.INT32, new long[] {1, 2}, x.get(0).view());
        assertThat(key("1", List.of(ints, x.get(1)), List.of(), Map.of())).isNotEqualTo(base);
        // a name boundary cannot shift between fields
        assertThat(key("1", List.of(tensor("AB", new long[] {1}, 1)), List.of(), Map.of()))
                .isNotEqualTo(key("1", List.of(tensor("A", new long[] {1}, 1)), List.of("B"), Map.of()));
    }

    @Test
    void cachedOutputsSurviveTheRedisEncoding() {
        byte[] bytes = CachedOutputs.encode(x);
        assertThat(CachedOutputs.decode(bytes)).isEqualTo(x);
        assertThat(CachedOutputs.decode(java.util.Arrays.copyOf(bytes, bytes.length - 1))).isNull();
        assertThat(CachedOutputs.decode(new byte[] {9})).isNull();
        // corrupt counts are a miss before anything is allocated for them (new ArrayList<>(2^31 - 1) would throw an Error)
        byte[] hugeCount = bytes.clone();
        java.nio.ByteBuffer.wrap(hugeCount).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(1, Integer.MAX_VALUE);
        assertThat(CachedOutputs.decode(hugeCount)).isNull();
        byte[] hugeName = bytes.clone();
        java.nio.ByteBuffer.wrap(hugeName).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(5, Integer.MAX_VALUE - 8);
        assertThat(CachedOutputs.decode(hugeName)).isNull();
    }
}
