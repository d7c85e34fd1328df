package io.sluice.api.rest;

import io.sluice.api.Inflating;
import io.sluice.inference.InferenceException;
import io.sluice.inference.InferenceException.InvalidInput.Kind;
import io.sluice.inference.RequestValidation;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Reads a REST body sent with {@code Content-Encoding} ({@code gzip} and {@code deflate}, what tritonclient's
 * {@code request_compression_algorithm} sends), here rather than in the HTTP server, so that every mistake
 * gets the API's answer: a body that is not what its coding says is a 400, one that inflates past the body
 * limit a 413, and another coding a 415, each naming the problem (the HTTP server's decompressor closed the
 * connection on a broken body without an answer, and read an unknown coding as none). It runs when the body
 * is parsed, after admission, so a rejected request inflates nothing.
 */
final class ContentEncoding {

    private ContentEncoding() {}

    /**
     * The body as sent before its coding.
     *
     * @param encoding the {@code Content-Encoding} header, or null
     * @param limit the most bytes the decoded body may have ({@code quarkus.http.limits.max-body-size})
     */
    static byte[] decode(byte[] body, String encoding, long limit) {
        List<String> codings = codings(encoding);
        if (codings.isEmpty()) {
            return body;
        }
        String coding = codings.get(0);
        if (codings.size() > 1 || !List.of("gzip", "x-gzip", "deflate").contains(coding)) {
            throw new InferenceException.InvalidInput("Content-Encoding '" + RequestValidation.cut(encoding.trim())
                    + "' is not one Sluice reads; send gzip, deflate or identity", Kind.UNSUPPORTED_ENCODING);
        }
        try {
            // exactly: bytes after the data's end are refused, not dropped (Inflating)
            InputStream in = coding.equals("deflate") ? Inflating.deflate(body, 0, body.length, !zlib(body))
                    : Inflating.gzip(body, 0, body.length);
            return read(in, coding, limit);
        } catch (IOException e) {
            throw new InferenceException.InvalidInput("request body is not valid " + coding + " (Content-Encoding: "
                    + encoding.trim() + "): " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
        }
    }

    /** Whether a body in {@code encoding} (the header, or null) comes in some coding other than identity. */
    static boolean coded(String encoding) {
        return !codings(encoding).isEmpty();
    }

    /** The codings {@code encoding} lists, in the order they were applied; identity adds nothing. */
    private static List<String> codings(String encoding) {
        if (encoding == null) {
            return List.of();
        }
        return Arrays.stream(encoding.split(",")).map(c -> c.trim().toLowerCase(Locale.ROOT))
                .filter(c -> !c.isEmpty() && !c.equals("identity")).toList();
    }

    /** Whether a deflate body has the zlib wrapper (RFC 1950), as HTTP's deflate should; some clients send it raw. */
    private static boolean zlib(byte[] body) {
        return body.length >= 2 && (body[0] & 0x0f) == 8 && (((body[0] & 0xff) << 8) | (body[1] & 0xff)) % 31 == 0;
    }

    private static byte[] read(InputStream in, String coding, long maxBytes) throws IOException {
        long limit = Math.min(maxBytes, Integer.MAX_VALUE - 16); // what one array holds
        try (in) {
            byte[] out = new byte[(int) Math.min(limit + 1, 64 * 1024)];
            int size = 0;
            while (true) {
                if (size == out.length) {
                    if (size > limit) {
                        throw new InferenceException.InvalidInput("request body inflates (" + coding + ") to more than "
                                + "the server's limit of " + limit + " bytes (quarkus.http.limits.max-body-size)",
                                Kind.TOO_LARGE);
                    }
                    out = Arrays.copyOf(out, (int) Math.min(limit + 1, (long) size * 2));
                }
                int n = in.read(out, size, out.length - size);
                if (n < 0) {
                    return size == out.length ? out : Arrays.copyOf(out, size);
                }
                size += n;
            }
        }
    }
}
