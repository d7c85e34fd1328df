package io.sluice.api.rest;

import java.math.BigDecimal;

/** IEEE 754 half precision (FP16) to and from float, for JSON tensors; Java 17 has no built-in. */
final class Half {

    /** Halfway between the largest half, 65504, and the next step, 65536, where rounding meets infinity. */
    private static final double LARGEST_TIE = 65520;

    private Half() {}

    /** The FP16 bits nearest to {@code value}, rounding to nearest even. */
    static short fromFloat(float value) {
        int bits = Float.floatToRawIntBits(value);
        int sign = (bits >>> 16) & 0x8000;
        int exp = (bits >>> 23) & 0xFF;
        int mantissa = bits & 0x7FFFFF;
        if (exp == 0xFF) {
            return (short) (sign | 0x7C00 | (mantissa != 0 ? 0x200 : 0));
        }
        int e = exp - 127 + 15;
        if (e >= 0x1F) {
            return (short) (sign | 0x7C00);
        }
        if (e <= 0) {
            if (e < -10) {
                return (short) sign;
            }
            mantissa |= 0x800000;
            int shift = 14 - e;
            int half = mantissa >> shift;
            int rest = mantissa & ((1 << shift) - 1);
            int halfway = 1 << (shift - 1);
            if (rest > halfway || (rest == halfway && (half & 1) == 1)) {
                half++;
            }
            return (short) (sign | half);
        }
        int half = (e << 10) | (mantissa >> 13);
        int rest = mantissa & 0x1FFF;
        if (rest > 0x1000 || (rest == 0x1000 && (half & 1) == 1)) {
            half++;
        }
        return (short) (sign | half);
    }

    /**
     * The FP16 bits nearest to {@code value}, rounding to nearest even once: the double is first narrowed
     * to a float rounded to odd (truncated, its last bit set when anything was cut off), which keeps
     * enough of what was cut off for {@link #fromFloat} to round as if from the double itself. Rounding
     * to the nearest float first could land on a tie between two halves the double was not on.
     */
    static short fromDouble(double value) {
        float f = (float) value;
        if ((double) f == value || Float.isInfinite(f) || Double.isNaN(value)) {
            return fromFloat(f);
        }
        if (Math.abs((double) f) > Math.abs(value)) {
            f = Math.nextAfter(f, 0.0); // toward zero: the truncation
        }
        return fromFloat(Float.intBitsToFloat(Float.floatToRawIntBits(f) | 1));
    }

    /**
     * The FP16 bits nearest to the decimal number {@code text} (as Java's {@link Double#parseDouble} reads it),
     * rounding to nearest even once from the text itself. Read as a double first, digits a hair off a tie between two
     * halves can land on the tie (1.0004882812500001 on 1 + 2^-11), which then goes to the even half whichever side
     * the digits were on; only then are the digits compared with the tie.
     */
    static short fromText(String text) {
        double value = Double.parseDouble(text);
        short h = fromDouble(value);
        double v = toFloat(h);
        // past the largest half (65504) the tie is with infinity, at 65520
        boolean overflow = (h & 0x7FFF) == 0x7C00;
        if (v == value || Double.isInfinite(value) || Double.isNaN(value)
                || overflow && Math.abs(value) != LARGEST_TIE) {
            return h;
        }
        // the half on the other side of the value, one step larger or smaller in magnitude
        short other = (short) (!overflow && Math.abs(v) < Math.abs(value) ? h + 1 : h - 1);
        double tie = overflow ? Math.copySign(LARGEST_TIE, value)
                : ((double) toFloat(h) + toFloat(other)) / 2; // exact: halves have 11 significant bits
        if (tie != value) {
            return h; // the double is not on a tie: rounded once, as it would be from the digits
        }
        int side = new BigDecimal(text.trim()).abs().compareTo(new BigDecimal(Math.abs(tie)));
        if (side == 0) {
            return h; // a true tie: the even one, as fromDouble chose
        }
        boolean hLarger = Math.abs(v) > Math.abs(tie);
        return side > 0 == hLarger ? h : other;
    }

    /** The float value of FP16 {@code bits}; exact. */
    static float toFloat(short bits) {
        int h = bits & 0xFFFF;
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1F;
        int mantissa = h & 0x3FF;
        if (exp == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mantissa << 13));
        }
        if (exp == 0) {
            float v = mantissa * 0x1p-24f;
            return sign == 0 ? v : -v;
        }
        return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mantissa << 13));
    }
}
