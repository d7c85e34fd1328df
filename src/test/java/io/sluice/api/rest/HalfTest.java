package io.sluice.api.rest;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.inference.Datatype;
import io.sluice.inference.InferRequest;
import io.sluice.inference.ModelMetadata;
import io.sluice.inference.TensorSpec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** FP16 from JSON numbers: rounded to nearest even once, from the client's digits. */
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
    void digitsAHairOffATieRoundToTheirSideThoughTheyReadAsTheTieInADouble() {
        assertThat(Double.parseDouble("1.0004882812500001")).isEqualTo(1 + 0x1p-11); // the tie between 1 and 1 + 2^-10
        assertThat(Half.fromText("1.0004882812500001")).isEqualTo((short) 0x3C01);
        assertThat(Half.fromText("1.0004882812499999")).isEqualTo((short) 0x3C00);
        assertThat(Half.fromText("1.00048828125")).isEqualTo((short) 0x3C00); // the tie itself: the even half
        assertThat(Half.fromText("-1.0004882812500001")).isEqualTo((short) 0xBC01);
        // the tie between 1 + 2^-10 (odd) and 1 + 2^-9 goes up to the even one; digits just under it stay
        assertThat(Half.fromText("1.00146484375")).isEqualTo((short) 0x3C02);
        assertThat(Half.fromText("1.0014648437499999")).isEqualTo((short) 0x3C01);
        // subnormal: the tie between 0 and 2^-24
        assertThat(Half.fromText("2.98023223876953125E-8")).isZero();
        assertThat(Half.fromText("2.980232238769531251E-8")).isEqualTo((short) 0x0001);
        assertThat(Half.fromText("0.5")).isEqualTo((short) 0x3800);
        assertThat(Half.fromText("65504")).isEqualTo((short) 0x7BFF);
        // the tie between the largest half and infinity: digits under it are the largest half, not an overflow
        assertThat(Double.parseDouble("65519.99999999999999")).isEqualTo(65520.0);
        assertThat(Half.fromText("65519.99999999999999")).isEqualTo((short) 0x7BFF);
        assertThat(Half.fromText("-65519.99999999999999")).isEqualTo((short) 0xFBFF);
        assertThat(Half.fromText("65520")).isEqualTo((short) 0x7C00); // the tie itself goes to the even one
        assertThat(Half.fromText("65520.00000000000001")).isEqualTo((short) 0x7C00);
    }

    @Test
    void aJsonRequestsFp16DigitsAreRoundedFromTheDigits() {
        ModelMetadata m = new ModelMetadata("m", "1", List.of("1"), ModelMetadata.PLATFORM, "cpu",
                List.of(new TensorSpec("x", Datatype.FP16, new long[] {-1})),
                List.of(new TensorSpec("y", Datatype.FP16, new long[] {-1})));
        byte[] body = "{\"inputs\":[{\"name\":\"x\",\"shape\":[2],\"datatype\":\"FP16\",\"data\":[1.0004882812500001,\"NaN\"]}]}"
                .getBytes(StandardCharsets.UTF_8);
        ByteBuffer x = RestInferRequests.parse("m", null, body, null, () -> m, InferRequest.NO_DEADLINE, 0).request()
                .inputs().get(0).data().order(ByteOrder.LITTLE_ENDIAN);
        assertThat(x.getShort(x.position())).isEqualTo((short) 0x3C01);
        assertThat(Half.toFloat(x.getShort(x.position() + 2))).isNaN();
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
