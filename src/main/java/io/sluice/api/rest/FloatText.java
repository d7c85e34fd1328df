package io.sluice.api.rest;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.math.BigInteger;
import java.nio.ByteOrder;

/**
 * Prints a finite {@code float} as ASCII straight into a byte array, in the text
 * {@code Float.toString} gives from JDK 19 on (and Jackson's fast float writer gives on any JDK):
 * the shortest decimal that reads back to the same float, plain for 10<sup>-3</sup> &le; |v| &lt;
 * 10<sup>7</sup>, {@code d.dddE±n} otherwise. A 128-token MiniLM answer prints 49,152 floats, and
 * going through a {@code String} per float cost more than the model's own share of the CPU allows.
 *
 * <p>The digits come from Raffaello Giulietti's Schubfach algorithm ("The Schubfach way to render
 * doubles", 2020, for {@code float}: precision 24, H = 9 digits): the rounding interval of the float
 * is scaled by a 64-bit approximation of a power of ten, and the shortest decimal inside it is taken,
 * ties going to the closer one and then to the even one. The powers of ten are computed once, exactly,
 * with {@link BigInteger}. The digits are converted eight at a time in the lanes of a {@code long}.
 */
final class FloatText {

    /** The most bytes one float takes: {@code -d.ddddddddE-dd}. */
    static final int MAX_LENGTH = 15;
    /** The bytes from the start that {@link #write} may overwrite: it stores digits eight at a time. */
    static final int ROOM = 18;

    private static final int PRECISION = 24;
    private static final int EXPONENT_MASK = 0xFF;
    private static final int FRACTION_MASK = (1 << (PRECISION - 1)) - 1;
    private static final int SMALLEST_NORMAL_SIGNIFICAND = 1 << (PRECISION - 1);
    /** The exponent q of |v| = c 2^q for subnormals (and the least for normals). */
    private static final int Q_MIN = -149;
    /** Subnormal significands below this get one more digit of room (the paper's C_TINY). */
    private static final int TINY_SIGNIFICAND = 8;
    private static final int DIGITS = 9;
    private static final int K_MIN = -45;
    private static final int K_MAX = 31;
    private static final long LOW_32 = (1L << 32) - 1;
    private static final long ASCII_ZEROS = 0x3030_3030_3030_3030L;
    private static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    /** For each k in [K_MIN, K_MAX]: with 10^-k = beta 2^r and 2^125 &le; beta &lt; 2^126, the top 63 bits of floor(beta) + 1. */
    private static final long[] POW10_HIGH = powersOfTen();

    private static final int[] POW10 = {1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000,
        100_000_000, 1_000_000_000};

    private FloatText() {}

    /**
     * Writes finite {@code v} at {@code at}. {@code out} must have {@link #ROOM} bytes from {@code at}
     * on: the text takes at most {@link #MAX_LENGTH}, and the bytes after it may be overwritten.
     *
     * @return the index after the text
     */
    static int write(float v, byte[] out, int at) {
        int bits = Float.floatToRawIntBits(v);
        int fraction = bits & FRACTION_MASK;
        int biased = (bits >>> (PRECISION - 1)) & EXPONENT_MASK;
        if (biased == EXPONENT_MASK) {
            throw new IllegalArgumentException("not a finite float: " + v);
        }
        out[at] = '-';
        int i = at + (bits >>> 31); // without a branch: activations' signs are a coin toss
        if (biased == 0) {
            if (fraction == 0) {
                out[i++] = '0';
                out[i++] = '.';
                out[i++] = '0';
                return i;
            }
            return fraction < TINY_SIGNIFICAND
                    ? shortest(Q_MIN, 10 * fraction, -1, out, i)
                    : shortest(Q_MIN, fraction, 0, out, i);
        }
        int q = biased - 150;
        int c = SMALLEST_NORMAL_SIGNIFICAND | fraction;
        if (q < 0 && q > -PRECISION) {
            int whole = c >> -q;
            if (whole << -q == c) {
                return format(whole, 0, out, i); // an integer: its digits are exact
            }
        }
        return shortest(q, c, 0, out, i);
    }

    /** The shortest decimal in the rounding interval of c 2^q, written; dk corrects k for tiny c. */
    private static int shortest(int q, int c, int dk, byte[] out, int at) {
        int odd = c & 1;
        long cb = (long) c << 2;
        long cbRight = cb + 2;
        long cbLeft;
        int k;
        if (c != SMALLEST_NORMAL_SIGNIFICAND || q == Q_MIN) {
            cbLeft = cb - 2;
            k = floorLog10Pow2(q);
        } else { // the interval below a power of two is half as wide
            cbLeft = cb - 1;
            k = floorLog10ThreeQuartersPow2(q);
        }
        int h = q + floorLog2Pow10(-k) + 33;
        long g = POW10_HIGH[k - K_MIN] + 1;
        int vb = roundToOdd(g, cb << h);
        int vbLeft = roundToOdd(g, cbLeft << h);
        int vbRight = roundToOdd(g, cbRight << h);

        int s = vb >> 2;
        if (s >= 100) { // try one digit fewer first
            int sp10 = 10 * (int) (s * 1_717_986_919L >>> 34);
            int tp10 = sp10 + 10;
            boolean lowerIn = vbLeft + odd <= sp10 << 2;
            boolean upperIn = (tp10 << 2) + odd <= vbRight;
            if (lowerIn != upperIn) {
                return format(lowerIn ? sp10 : tp10, k, out, at);
            }
        }
        int t = s + 1;
        boolean lowerIn = vbLeft + odd <= s << 2;
        boolean upperIn = (t << 2) + odd <= vbRight;
        if (lowerIn != upperIn) {
            return format(lowerIn ? s : t, k + dk, out, at);
        }
        int cmp = vb - ((s + t) << 1); // both in: the closer, ties to even
        return format(cmp < 0 || cmp == 0 && (s & 1) == 0 ? s : t, k + dk, out, at);
    }

    /** Rounds cp g 2^-95 to odd, keeping two fraction bits (the paper's rop). */
    private static int roundToOdd(long g, long cp) {
        long x = Math.multiplyHigh(g, cp);
        return (int) ((x >>> 31) | (((x & LOW_32) + LOW_32) >>> 32));
    }

    /** Writes f 10^e, f > 0, in Float.toString's layout. */
    private static int format(int f, int e, byte[] out, int at) {
        int len = floorLog10Pow2(Integer.SIZE - Integer.numberOfLeadingZeros(f));
        len += (POW10[len] - 1 - f) >>> 31; // one more if f >= 10^len
        f *= POW10[DIGITS - len]; // now 10^8 <= f < 10^9 and v = 0.f 10^e
        e += len;
        int first = (int) (f * 1_441_151_881L >>> 57); // f / 10^8
        long lanes = digitLanes(f - 100_000_000 * first);
        long digits = lanes + ASCII_ZEROS;
        int significant = 8 - (Long.numberOfLeadingZeros(lanes) >>> 3); // up to the last non-zero digit
        int i = at;
        if (e > 0 && e <= 7) { // ddd.ddd: the first e digits, the point, the rest (at least one)
            out[i] = (byte) ('0' + first);
            LONG_LE.set(out, i + 1, digits);
            int point = i + e;
            LONG_LE.set(out, point + 1, digits >>> (8 * (e - 1)));
            out[point] = '.';
            return point + 1 + Math.max(1, significant - (e - 1));
        }
        if (e > -3 && e <= 0) { // 0.00ddd
            out[i] = '0';
            out[i + 1] = '.';
            LONG_LE.set(out, i + 2, ASCII_ZEROS);
            int p = i + 2 - e;
            out[p] = (byte) ('0' + first);
            LONG_LE.set(out, p + 1, digits);
            return p + 1 + significant;
        }
        out[i] = (byte) ('0' + first); // d.dddE-dd
        out[i + 1] = '.';
        LONG_LE.set(out, i + 2, digits);
        i += 2 + Math.max(1, significant);
        out[i++] = 'E';
        int x = e - 1;
        if (x < 0) {
            out[i++] = '-';
            x = -x;
        }
        if (x >= 10) {
            int tens = x * 103 >>> 10;
            out[i++] = (byte) ('0' + tens);
            x -= 10 * tens;
        }
        out[i++] = (byte) ('0' + x);
        return i;
    }

    /**
     * The eight decimal digits of m &lt; 10^8, one per byte, the most significant in the lowest byte
     * (so a little-endian store writes them in reading order): split into two halves of four digits,
     * each into two pairs, each pair into two digits, all lanes at once, dividing by 100 and by 10
     * with multiplications that are exact in these ranges.
     */
    static long digitLanes(int m) {
        long halves = (m / 10_000) | ((long) (m % 10_000) << 32);
        long hundreds = ((halves * 10_486) >>> 20) & 0x0000_007F_0000_007FL;
        long pairs = ((halves - 100 * hundreds) << 16) | hundreds;
        long tens = ((pairs * 103) >>> 10) & 0x000F_000F_000F_000FL;
        return ((pairs - 10 * tens) << 8) | tens;
    }

    private static int floorLog10Pow2(int e) {
        return (int) (e * 661_971_961_083L >> 41);
    }

    private static int floorLog10ThreeQuartersPow2(int e) {
        return (int) (e * 661_971_961_083L - 274_743_187_321L >> 41);
    }

    private static int floorLog2Pow10(int e) {
        return (int) (e * 913_124_641_741L >> 38);
    }

    private static long[] powersOfTen() {
        long[] table = new long[K_MAX - K_MIN + 1];
        for (int k = K_MIN; k <= K_MAX; k++) {
            int r = floorLog2Pow10(-k) - 125; // 10^-k = beta 2^r with 2^125 <= beta < 2^126
            BigInteger beta;
            if (k <= 0) {
                BigInteger p = BigInteger.TEN.pow(-k);
                beta = r >= 0 ? p.shiftRight(r) : p.shiftLeft(-r);
            } else {
                beta = BigInteger.ONE.shiftLeft(-r).divide(BigInteger.TEN.pow(k));
            }
            if (beta.bitLength() != 126) {
                throw new IllegalStateException("10^" + -k + " scaled to " + beta.bitLength() + " bits");
            }
            table[k - K_MIN] = beta.add(BigInteger.ONE).shiftRight(63).longValueExact();
        }
        return table;
    }
}
