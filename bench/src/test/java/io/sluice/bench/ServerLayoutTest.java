package io.sluice.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The raw c=1 baseline runs at the server's thread layout: the server's default, whatever the core count. */
class ServerLayoutTest {

    @Test
    void theDefaultIntraOpIsTheServersOnAnyCoreCount() {
        // min(2, cores) instances sharing the cores, as ModelSettings computes it
        assertEquals(1, ServerLayout.defaultIntraOp(1));
        assertEquals(1, ServerLayout.defaultIntraOp(2));
        assertEquals(2, ServerLayout.defaultIntraOp(4));
        assertEquals(4, ServerLayout.defaultIntraOp(8));
        assertEquals(3, ServerLayout.parse("m=3").intraOp("m"));
    }
}
