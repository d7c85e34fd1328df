package io.sluice.inference;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Checks a request against what the model declares, before it may reach a batch: every input once,
 * right datatype, a shape the model accepts, bytes that match the shape, known outputs. Produces
 * the inputs in the model's order, the rows along the batch dimension and the batch signature.
 */
public final class RequestValidation {

    /**
     * A request that passed.
     *
     * @param inputs inputs in the model's declared order
     * @param outputs requested outputs, empty for all
     * @param rows rows along the batch dimension, 1 when the model cannot batch
     * @param signature what must match for two requests to share a batch; null when unbatchable
     */
    public record Validated(List<Tensor> inputs, List<String> outputs, int rows, Object signature) {}

    private RequestValidation() {}

    /**
     * Validates {@code request} against the model's declared tensors.
     *
     * @param batchable whether requests may be stacked along the first dimension
     * @param feedable which datatypes the runtime can take as input
     * @throws InferenceException.InvalidInput naming the first problem found
     */
    public static Validated validate(InferRequest request, List<TensorSpec> inputs, List<TensorSpec> outputs,
            boolean batchable, Predicate<Datatype> feedable) {
        Map<String, Tensor> given = new HashMap<>();
        for (Tensor t : request.inputs()) {
            if (given.put(t.name(), t) != null) {
                throw invalid("input '%s' is given twice", t.name());
            }
        }
        List<Tensor> ordered = new ArrayList<>(inputs.size());
        List<Object> signature = new ArrayList<>();
        long rows = -1;
        for (TensorSpec spec : inputs) {
            Tensor t = given.remove(spec.name());
            if (t == null) {
                String stray = given.keySet().stream().filter(n -> inputs.stream().noneMatch(i -> i.name().equals(n)))
                        .findFirst().orElse(null);
                throw invalid("missing input '%s'; model '%s' expects %s%s", spec.name(), request.model(), names(inputs),
                        stray == null ? "" : ", and input '" + cut(stray) + "' is not one of them");
            }
            check(t, spec, feedable);
            if (batchable) {
                if (rows >= 0 && t.shape()[0] != rows) {
                    throw invalid("input '%s' has %d rows in the batch dimension, other inputs have %d",
                            t.name(), t.shape()[0], rows);
                }
                rows = t.shape()[0];
                signature.add(t.datatype() + Arrays.toString(Arrays.copyOfRange(t.shape(), 1, t.shape().length)));
            }
            ordered.add(t);
        }
        if (!given.isEmpty()) {
            throw invalid("unknown input '%s'; model '%s' expects %s",
                    cut(given.keySet().iterator().next()), request.model(), names(inputs));
        }
        java.util.Set<String> asked = new java.util.HashSet<>();
        for (String out : request.outputs()) {
            if (!asked.add(out)) {
                throw invalid("output '%s' is asked for twice", out);
            }
            TensorSpec spec = outputs.stream().filter(o -> o.name().equals(out)).findFirst().orElseThrow(() ->
                    invalid("unknown output '%s'; model '%s' has %s", cut(out), request.model(), names(outputs)));
            if (request.classifications().containsKey(out) && !Classification.ranks(spec.datatype())) {
                throw invalid("output '%s' is %s, which has no order: classification needs a numeric output", out,
                        spec.datatype());
            }
        }
        if (!batchable) {
            return new Validated(ordered, request.outputs(), 1, null);
        }
        if (rows < 1 || rows > Integer.MAX_VALUE) {
            throw invalid("batch dimension must be at least 1, was %d", rows);
        }
        signature.add(request.outputs());
        return new Validated(ordered, request.outputs(), (int) rows, signature);
    }

    private static void check(Tensor t, TensorSpec spec, Predicate<Datatype> feedable) {
        if (t.datatype() != spec.datatype()) {
            throw datatypeMismatch(t.name(), t.datatype(), spec.datatype());
        }
        if (!feedable.test(t.datatype())) {
            throw invalid("input '%s': datatype %s cannot be fed to ONNX Runtime through its Java API",
                    t.name(), t.datatype());
        }
        if (!spec.accepts(t.shape())) {
            throw invalid("input '%s' has shape %s, model expects %s", t.name(), t.shapeText(),
                    Arrays.toString(spec.shape()));
        }
        checkBytes(t);
    }

    /**
     * Checks that a tensor's bytes hold exactly the elements its shape describes: BOOL bytes 0 or 1, BYTES
     * elements in UTF-8 and without the characters ONNX Runtime's Java API would hand the model changed.
     *
     * @throws InferenceException.InvalidInput naming the tensor and what is wrong
     */
    public static void checkBytes(Tensor t) {
        checkElements(t, true);
    }

    /**
     * {@link #checkBytes} for a tensor that does not go to ONNX Runtime (a cached output read back): its layout
     * only, without refusing the characters ONNX Runtime's Java API would alter on the way in.
     */
    public static void checkLayout(Tensor t) {
        checkElements(t, false);
    }

    private static void checkElements(Tensor t, boolean toRuntime) {
        long elements = t.elementCount();
        if (t.datatype().fixedSize()) {
            long expected;
            try {
                expected = Math.multiplyExact(elements, (long) t.datatype().size());
            } catch (ArithmeticException tooMany) {
                throw invalid("input '%s' with shape %s and datatype %s needs more bytes than a request can hold",
                        t.name(), t.shapeText(), t.datatype());
            }
            if (t.byteSize() != expected) {
                throw invalid("input '%s' with shape %s and datatype %s needs %d bytes, got %d",
                        t.name(), t.shapeText(), t.datatype(), expected, t.byteSize());
            }
            if (t.datatype() == Datatype.BOOL) {
                checkBooleans(t);
            }
            return;
        }
        ByteBuffer data = t.view();
        long count = 0;
        while (data.hasRemaining()) {
            if (data.remaining() < 4) {
                throw invalid("input '%s': BYTES element %d has a truncated length prefix", t.name(), count);
            }
            int length = data.getInt();
            if (length < 0 || length > data.remaining()) {
                throw invalid("input '%s': BYTES element %d claims %d bytes, %d remain",
                        t.name(), count, Integer.toUnsignedLong(length), data.remaining()); // the prefix is unsigned
            }
            if (!utf8(data, length)) {
                throw invalid("input '%s': BYTES element %d is not UTF-8 (ONNX Runtime's Java API holds string "
                        + "tensors as text, so other bytes could not come back unchanged)", t.name(), count);
            }
            String altered = toRuntime ? alteredOnTheWay(data, length) : null;
            if (altered != null) {
                throw invalid("input '%s': BYTES element %d holds %s, which ONNX Runtime's Java API would hand the model "
                        + "as other bytes (it passes strings as modified UTF-8); refused rather than altered",
                        t.name(), count, altered);
            }
            data.position(data.position() + length);
            count++;
        }
        if (count != elements) {
            throw invalid("input '%s' with shape %s needs %d BYTES elements, got %d",
                    t.name(), t.shapeText(), elements, count);
        }
    }

    /**
     * Raw BOOL bytes (the binary extension, gRPC's {@code raw_input_contents}) must be 0 or 1, as JSON's
     * {@code true} and {@code false} are: ONNX Runtime reads them as C++ {@code bool}, for which any other
     * byte is undefined ({@code Not} of 2 need not be false).
     */
    private static void checkBooleans(Tensor t) {
        ByteBuffer data = t.view();
        for (int i = data.position(); i < data.limit(); i++) {
            byte b = data.get(i);
            if ((b & ~1) != 0) {
                throw invalid("input '%s': BOOL element %d is the byte %d; a BOOL is 0 (false) or 1 (true)",
                        t.name(), i - data.position(), b & 0xFF);
            }
        }
    }

    /**
     * What in the UTF-8 {@code length} bytes at {@code data}'s position would not reach the model as sent, or
     * null: ONNX Runtime's Java API hands strings over through JNI's modified UTF-8, which writes U+0000 as two
     * bytes and a character outside the Basic Multilingual Plane as six (a string {@code Equal} to the same
     * text in the model is false).
     */
    private static String alteredOnTheWay(ByteBuffer data, int length) {
        int start = data.position();
        for (int i = start; i < start + length; i++) {
            byte b = data.get(i);
            if (b == 0) {
                return "U+0000 (NUL)";
            }
            if ((b & 0xF8) == 0xF0) { // the first of four bytes, valid as checked before
                int c = (b & 0x07) << 18 | (data.get(i + 1) & 0x3F) << 12 | (data.get(i + 2) & 0x3F) << 6
                        | data.get(i + 3) & 0x3F;
                return String.format("U+%X, a character outside the Basic Multilingual Plane", c);
            }
        }
        return null;
    }

    /** Whether the {@code length} bytes at {@code data}'s position are UTF-8; ASCII is checked without decoding. */
    private static boolean utf8(ByteBuffer data, int length) {
        int start = data.position();
        for (int i = start; i < start + length; i++) {
            if (data.get(i) < 0) {
                try {
                    StandardCharsets.UTF_8.newDecoder()
                            .onMalformedInput(CodingErrorAction.REPORT)
                            .onUnmappableCharacter(CodingErrorAction.REPORT)
                            .decode(data.slice(start, length));
                    return true;
                } catch (CharacterCodingException e) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Parameters of protocol extensions Sluice does not implement; a client sending them would get wrong results. */
    private static final Map<String, String> UNSUPPORTED = Map.of(
            "shared_memory_region", "the shared-memory extension",
            "shared_memory_byte_size", "the shared-memory extension",
            "shared_memory_offset", "the shared-memory extension");

    /** The parameter of a requested output that asks for its top classes (Triton's classification extension). */
    public static final String CLASSIFICATION = "classification";

    /**
     * The number of classes a requested output's {@code classification} parameter asks for, or 0 without one.
     *
     * @throws InferenceException.InvalidInput for a value that is not a positive integer
     */
    public static int classificationCount(Map<String, ?> parameters, String output) {
        Object count = parameters.get(CLASSIFICATION);
        if (count == null) {
            return 0;
        }
        if (!(count instanceof Long n) || n < 1 || n > Integer.MAX_VALUE) {
            throw invalid("output '%s' parameter classification must be a positive integer (how many classes), was %s",
                    output, shown(count));
        }
        return (int) (long) n;
    }

    /**
     * The {@code timeout} request parameter in microseconds, 0 for none. An unsigned 64-bit value past int64 (a
     * {@link BigInteger}, as a uint64 parameter or a large JSON integer arrives) is longer than any deadline: none.
     *
     * @throws InferenceException.InvalidInput for a value that is not a non-negative integer
     */
    public static long timeoutMicros(Object value) {
        if (value instanceof Long micros && micros >= 0) {
            return micros;
        }
        if (value instanceof BigInteger big && big.signum() > 0) {
            return 0;
        }
        throw invalid("parameter 'timeout' must be a non-negative integer of microseconds (0: none), was %s",
                shown(value));
    }

    /**
     * The {@code priority} request parameter as a level; a level past the model's levels (up to 2^64-1, as a uint64
     * parameter carries it) means its default, as in Triton.
     *
     * @throws InferenceException.InvalidInput for a value that is not a non-negative integer
     */
    public static int priorityLevel(Object value) {
        if (value instanceof Long level && level >= 0) {
            return (int) Math.min(Integer.MAX_VALUE, level);
        }
        if (value instanceof BigInteger big && big.signum() > 0) {
            return Integer.MAX_VALUE;
        }
        throw invalid("parameter 'priority' must be a non-negative integer, was %s", shown(value));
    }

    /**
     * {@link #rejectUnsupported} for an input's parameters, which may not carry {@code classification} either:
     * it applies to requested outputs.
     *
     * @param what "input 'x'", for the message
     * @throws InferenceException.InvalidInput naming the parameter
     */
    public static void rejectUnsupportedOnInput(Map<String, ?> parameters, String what) {
        if (parameters.containsKey(CLASSIFICATION)) {
            throw invalid("%s has parameter 'classification', which applies to requested outputs only", what);
        }
        rejectUnsupported(parameters, what);
    }

    /**
     * Refuses the parameters of an input or requested output that ask for an extension Sluice does not
     * implement (Triton's shared memory): ignoring them would answer inline data where a client reads a
     * shared-memory region.
     *
     * @param what "input 'x'" or "output 'y'", for the message
     * @throws InferenceException.InvalidInput naming the parameter and the extension
     */
    public static void rejectUnsupported(Map<String, ?> parameters, String what) {
        for (String key : parameters.keySet()) {
            String extension = UNSUPPORTED.get(key);
            if (extension != null) {
                throw invalid("%s has parameter '%s', which asks for %s; Sluice does not support it", what, key,
                        extension);
            }
        }
    }

    /** The most characters of a client's value a message quotes: a 1 MB name is not sent back whole. */
    public static final int MAX_SHOWN = 64;

    /**
     * A client's value for a message: a string in double quotes, so "2" is not read as the number 2, cut at {@link
     * #MAX_SHOWN} characters with its length; anything else as it prints.
     */
    public static String shown(Object value) {
        return value instanceof String text ? "\"" + cut(text) + "\"" : String.valueOf(value);
    }

    /** {@code text} cut at {@link #MAX_SHOWN} characters, with its length when cut. */
    public static String cut(String text) {
        if (text.length() <= MAX_SHOWN) {
            return text;
        }
        int end = Character.isHighSurrogate(text.charAt(MAX_SHOWN - 1)) ? MAX_SHOWN - 1 : MAX_SHOWN;
        return text.substring(0, end) + "\u2026 (" + text.length() + " characters)";
    }

    private static List<String> names(List<TensorSpec> specs) {
        return specs.stream().map(TensorSpec::name).toList();
    }

    private static InferenceException.InvalidInput datatypeMismatch(String name, Datatype sent, Datatype expected) {
        return invalid("input '%s' has datatype %s, model expects %s", name, sent, expected);
    }

    /**
     * The refusal of input {@code name} sent as {@code sent}, when {@code model} has an input of that name of another
     * datatype; null otherwise. An adapter that failed to read the input's data as {@code sent} (JSON numbers for
     * BYTES, a binary part framed as BYTES) says this instead, which is what is wrong: its own message would name a
     * detail of the datatype the client meant not to send.
     */
    public static InferenceException.InvalidInput datatypeMismatch(ModelMetadata model, String name, Datatype sent) {
        for (TensorSpec spec : model.inputs()) {
            if (spec.name().equals(name) && spec.datatype() != sent) {
                return datatypeMismatch(name, sent, spec.datatype());
            }
        }
        return null;
    }

    private static InferenceException.InvalidInput invalid(String format, Object... args) {
        return new InferenceException.InvalidInput(String.format(format, args));
    }
}
