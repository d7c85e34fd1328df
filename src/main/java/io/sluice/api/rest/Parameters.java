package io.sluice.api.rest;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.inference.InferenceException;
import io.sluice.inference.RequestValidation;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/** OIP {@code parameters} objects: each value a boolean, an integer, a number or a string. */
final class Parameters {

    private Parameters() {}

    /**
     * Reads {@code node} (may be null) into booleans, Longs (BigIntegers past int64, up to 2^64-1), Doubles and
     * Strings.
     */
    static Map<String, Object> read(JsonNode node, String owner) {
        if (node == null || node.isNull()) {
            return Map.of();
        }
        if (!node.isObject()) {
            throw new InferenceException.InvalidInput(owner + " parameters must be an object");
        }
        Map<String, Object> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode v = e.getValue();
            Object value;
            if (v.isBoolean()) {
                value = v.booleanValue();
            } else if (v.isIntegralNumber() && v.canConvertToLong()) {
                value = v.longValue();
            } else if (v.isIntegralNumber() && v.bigIntegerValue().signum() > 0
                    && v.bigIntegerValue().bitLength() <= Long.SIZE) {
                value = v.bigIntegerValue(); // past int64, within uint64: Triton's priority is a uint64
            } else if (v.isIntegralNumber()) {
                // read as a double it would come back changed (rounded), so it is refused, not altered
                throw new InferenceException.InvalidInput(owner + " parameter '" + e.getKey() + "' is "
                        + RequestValidation.cut(v.asText()) + ", an integer outside [-2^63, 2^64-1]");
            } else if (v.isNumber()) {
                value = v.doubleValue();
                if (Double.isInfinite((Double) value) && !v.isDouble()) {
                    throw new InferenceException.InvalidInput(owner + " parameter '" + e.getKey()
                            + "' is a number too large for a double");
                }
            } else if (v.isTextual()) {
                value = v.textValue();
            } else {
                throw new InferenceException.InvalidInput(owner + " parameter '" + e.getKey()
                        + "' must be a boolean, number or string");
            }
            out.put(e.getKey(), value);
        }
        return out;
    }
}
