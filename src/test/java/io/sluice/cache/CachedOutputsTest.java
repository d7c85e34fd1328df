package io.sluice.cache;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.inference.Datatype;
import io.sluice.inference.Tensor;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

class CachedOutputsTest {

    @Test
    void theSizeKnownBeforeEncodingIsTheEncodedSizeAndEntriesReadBack() {
        List<Tensor> outputs = List.of(
                new Tensor("SUM", Datatype.FP32, new long[] {2, 3}, ByteBuffer.wrap(new byte[24])),
                new Tensor("naïve", Datatype.INT64, new long[] {1}, ByteBuffer.wrap(new byte[] {1, 2, 3, 4, 5, 6, 7, 8})));

        byte[] entry = CachedOutputs.encode(outputs);

        assertThat(entry).hasSize((int) CachedOutputs.encodedSize(outputs));
        List<Tensor> back = CachedOutputs.decode(entry);
        assertThat(back).hasSize(2);
        assertThat(back.get(1).name()).isEqualTo("naïve");
        assertThat(back.get(1).shape()).containsExactly(1);
        byte[] data = new byte[8];
        back.get(1).view().get(data);
        assertThat(data).containsExactly(1, 2, 3, 4, 5, 6, 7, 8);
    }

    @Test
    void anEntryWhoseBytesDoNotHoldItsShapeIsAMiss() {
        // well framed, but another writer's (or a torn) value: the answer's writer would fail on it, or send it wrong
        assertThat(CachedOutputs.decode(CachedOutputs.encode(List.of(
                new Tensor("SUM", Datatype.FP32, new long[] {4}, ByteBuffer.wrap(new byte[4])))))).isNull();
        assertThat(CachedOutputs.decode(CachedOutputs.encode(List.of(
                new Tensor("SUM", Datatype.FP32, new long[] {-1}, ByteBuffer.wrap(new byte[0])))))).isNull();
        byte[] badPrefix = {5, 0, 0, 0, 'a'}; // claims 5 bytes, holds 1
        assertThat(CachedOutputs.decode(CachedOutputs.encode(List.of(
                new Tensor("TEXT", Datatype.BYTES, new long[] {1}, ByteBuffer.wrap(badPrefix)))))).isNull();
        byte[] twoElements = {1, 0, 0, 0, 'a', 1, 0, 0, 0, 'b'};
        assertThat(CachedOutputs.decode(CachedOutputs.encode(List.of(
                new Tensor("TEXT", Datatype.BYTES, new long[] {1}, ByteBuffer.wrap(twoElements)))))).isNull();
        assertThat(CachedOutputs.decode(CachedOutputs.encode(List.of(
                new Tensor("TEXT", Datatype.BYTES, new long[] {2}, ByteBuffer.wrap(twoElements)))))).hasSize(1);
        // framed as an entry of no tensors: an answer always has one, so it would go out as an empty 200
        assertThat(CachedOutputs.decode(CachedOutputs.encode(List.of()))).isNull();
    }
}
