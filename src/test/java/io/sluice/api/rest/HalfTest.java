package io.sluice.api.rest;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** FP16 from JSON numbers: rounded to nearest even once, from the double the number was read as. */
class HalfTest {

    @Test
    void aDoubleJustAboveATieBetweenTwoHalvesRoundsUpNotToTheEvenOne() {
        // halves next to 1 are 2^-10 apart; 1 + 2^-11 is the tie, and a double 2^-40 above it is nearer the upper half.
        // Rounded to the nearest float first it would become the tie itself, then 1.0 (the even half)
        double above = 1 + 0x1p-11 + 0x1p-40;
        assertThat((float) above).isEqualTo(1 + 0x1p-11f);
        assertThat(Half.toFloat(Half.fromDouble(above))).isEqualTo(1 + 0x1p-10f);
        assertThat(Half.toFloat(Half.fromDouble(1 + 0x1p-11 - 0x1p-40))).isEqualTo(1f);
        assertThat(Half.toFloat(Half.fromDouble(1 + 0x1p-11))).isEqualTo(1f); // a true tie goes to even
        assertThat(Half.toFloat(Half.fromDouble(-above))).isEqualTo(-(1 + 0x1p-10f));
        // among the subnormal halves, 2^-24 apart: just above the tie between 0 and the smallest one
        assertThat(Half.toFloat(Half.fromDouble(0x1p-25 + 0x1p-60))).isEqualTo(0x1p-24f);
        assertThat(Half.toFloat(Half.fromDouble(0x1p-25))).isZero();
    }

    @Test
    void agreesWithFloatRoundingWheneverTheDoubleIsAFloat() {
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < 100_000; i++) {
            float f = Float.intBitsToFloat(random.nextInt());
            if (Float.isNaN(f)) {
                continue;
            }
            assertThat(Half.fromDouble(f)).as("%s", f).isEqualTo(Half.fromFloat(f));
        }
        assertThat(Half.toFloat(Half.fromDouble(1e300))).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(Half.toFloat(Half.fromDouble(65520.0))).isEqualTo(Float.POSITIVE_INFINITY); // the tie above 65504
        assertThat(Half.toFloat(Half.fromDouble(65519.99))).isEqualTo(65504f);
    }
}
