package io.sluice.api.rest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.io.schubfach.FloatToDecimal;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link FloatText} prints exactly what JSON answers carried before it, Jackson's shortest float text
 * (the JDK 19+ {@code Float.toString}), for floats chosen where printing goes wrong: both ends of
 * every binary exponent, subnormals, integers, powers of ten and their neighbours, the switch between
 * plain and scientific forms, and a few million random bit patterns.
 */
class FloatTextTest {

    private final byte[] buffer = new byte[1 + FloatText.ROOM];

    private String printed(float v) {
        buffer[0] = '#';
        int end = FloatText.write(v, buffer, 1);
        assertThat(end - 1).as("length of %s", v).isLessThanOrEqualTo(FloatText.MAX_LENGTH);
        assertThat(buffer[0]).as("nothing written before the start").isEqualTo((byte) '#');
        return new String(buffer, 1, end - 1, StandardCharsets.US_ASCII);
    }

    private void printsAsJackson(float v) {
        if (!Float.isFinite(v)) {
            return; // 9e38 and the like
        }
        assertThat(printed(v)).as("bits %08x", Float.floatToRawIntBits(v)).isEqualTo(FloatToDecimal.toString(v));
    }

    private void printsAsJackson(int bits) {
        printsAsJackson(Float.intBitsToFloat(bits));
        printsAsJackson(Float.intBitsToFloat(bits | 0x8000_0000));
    }

    @Test
    void knownValues() {
        assertThat(printed(0f)).isEqualTo("0.0");
        assertThat(printed(-0f)).isEqualTo("-0.0");
        assertThat(printed(1f)).isEqualTo("1.0");
        assertThat(printed(0.1f)).isEqualTo("0.1");
        assertThat(printed(-123.456f)).isEqualTo("-123.456");
        assertThat(printed(1e7f)).isEqualTo("1.0E7");
        assertThat(printed(9_999_999f)).isEqualTo("9999999.0");
        assertThat(printed(0.001f)).isEqualTo("0.001");
        assertThat(printed(0.000_999_9f)).isEqualTo("9.999E-4");
        assertThat(printed(Float.MAX_VALUE)).isEqualTo("3.4028235E38");
        assertThat(printed(Float.MIN_VALUE)).isEqualTo("1.4E-45");
        assertThat(printed(Float.MIN_NORMAL)).isEqualTo("1.1754944E-38");
        assertThat(printed(-Float.intBitsToFloat(0x2d00_0001))).isEqualTo("-7.2759585E-12");
    }

    @Test
    void bothEndsOfEveryExponentAndEverySubnormalNearTheBottom() {
        for (int exponent = 0; exponent < 255; exponent++) {
            for (int f = 0; f < 64; f++) {
                printsAsJackson(exponent << 23 | f);
                printsAsJackson(exponent << 23 | (0x7F_FFFF - f));
                printsAsJackson(exponent << 23 | (0x40_0000 + f - 32));
            }
        }
        for (int bits = 1; bits < 100_000; bits++) {
            printsAsJackson(bits);
        }
    }

    @Test
    void integersPowersOfTenAndTheirNeighbours() {
        for (int i = 0; i <= 100_000; i++) {
            printsAsJackson((float) i);
        }
        for (int e = -45; e <= 38; e++) {
            float p = Float.parseFloat("1e" + e);
            printsAsJackson(p);
            printsAsJackson(Math.nextUp(p));
            printsAsJackson(Math.nextDown(p));
            for (int m = 1; m <= 9; m++) {
                printsAsJackson(Float.parseFloat(m + "e" + e));
                printsAsJackson(Float.parseFloat(m + ".5e" + e));
            }
        }
    }

    @Test
    void randomBitPatterns() {
        SplittableRandom random = new SplittableRandom(20261130);
        int checked = 0;
        while (checked < 3_000_000) {
            float v = Float.intBitsToFloat(random.nextInt());
            if (Float.isFinite(v)) {
                printsAsJackson(v);
                checked++;
            }
        }
        for (int i = 0; i < 1_000_000; i++) { // activations: mostly small, around zero
            printsAsJackson((float) random.nextDouble(-4, 4));
        }
    }

    @Test
    void everyEightDigitNumberSplitsIntoItsDigits() {
        for (int m = 0; m < 100_000_000; m++) {
            long lanes = FloatText.digitLanes(m);
            int back = 0;
            for (int d = 0; d < 8; d++) {
                int digit = (int) (lanes >>> (8 * d)) & 0xFF;
                if (digit > 9) {
                    throw new AssertionError(m + ": lane " + d + " holds " + digit);
                }
                back = 10 * back + digit;
            }
            if (back != m) {
                throw new AssertionError(m + " read back as " + back);
            }
        }
    }

    @Test
    void refusesWhatIsNotFinite() {
        assertThatThrownBy(() -> FloatText.write(Float.NaN, buffer, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> FloatText.write(Float.NEGATIVE_INFINITY, buffer, 0))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
