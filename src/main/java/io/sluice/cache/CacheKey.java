package io.sluice.cache;

import io.sluice.inference.InferRequest;
import io.sluice.inference.Tensor;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The SHA-256 of everything that decides a response: the Sluice build that computes it ({@link #BUILD}), model name,
 * the version that serves it and
 * the digest of that version's files and provider, requested outputs (in order) and which of them are
 * classified (and into how many classes), parameters that can change the output, and each input's name,
 * datatype, shape and bytes (inputs sorted by name). Tensors are hashed in their one canonical
 * layout, so JSON, binary REST and gRPC give the same key for the same tensor. Every field is
 * length-prefixed, so no two different requests share an encoding.
 */
public final class CacheKey {

    /** Parameters that shape only the wire format or the scheduling, never the outputs. */
    static final Set<String> WIRE_ONLY = Set.of("priority", "timeout", "binary_data_output", "binary_data",
            "binary_data_size");

    /**
     * The build's id, as Maven wrote it into {@code build.properties} (its version and when it was built): an answer
     * may change between builds (a validation, a classification's text), so replicas of two builds sharing a Redis
     * never serve each other's entries. {@code unknown} when the file is missing or was not filtered.
     */
    static final String BUILD = build();

    private final byte[] digest;
    private final int hash;

    private static String build() {
        try (java.io.InputStream in = CacheKey.class.getResourceAsStream("build.properties")) {
            if (in == null) {
                return "unknown";
            }
            java.util.Properties p = new java.util.Properties();
            p.load(in);
            String build = p.getProperty("build", "");
            return build.isBlank() || build.contains("${") ? "unknown" : build;
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }

    private CacheKey(byte[] digest) {
        this.digest = digest;
        this.hash = Arrays.hashCode(digest);
    }

    /**
     * The key of {@code request} from {@code tenant} served by {@code version} of {@code model}, whose files
     * and provider are {@code contents} (a digest; null when unknown). Tenants never share an entry: a
     * hit, its {@code Sluice-Cache} status or its speed would tell one tenant what another has sent.
     */
    public static CacheKey of(String tenant, String model, String version, String contents, InferRequest request) {
        MessageDigest sha = sha256();
        text(sha, "sluice-cache-v6");
        text(sha, BUILD);
        text(sha, tenant);
        text(sha, model);
        text(sha, version);
        text(sha, contents == null ? "" : contents);
        number(sha, request.outputs().size());
        request.outputs().forEach(o -> text(sha, o));
        Map<String, Integer> classifications = new TreeMap<>(request.classifications()); // top classes, not values
        number(sha, classifications.size());
        classifications.forEach((o, count) -> {
            text(sha, o);
            number(sha, count);
        });
        Map<String, Object> params = new TreeMap<>(request.parameters());
        params.keySet().removeAll(WIRE_ONLY);
        number(sha, params.size());
        params.forEach((k, v) -> {
            text(sha, k);
            text(sha, v == null ? "null" : v.getClass().getSimpleName() + ":" + v);
        });
        var inputs = request.inputs().stream().sorted(Comparator.comparing(Tensor::name)).toList();
        number(sha, inputs.size());
        for (Tensor t : inputs) {
            text(sha, t.name());
            text(sha, t.datatype().name());
            number(sha, t.shape().length);
            for (long d : t.shape()) {
                number(sha, d);
            }
            ByteBuffer data = t.view();
            number(sha, data.remaining());
            sha.update(data);
        }
        return new CacheKey(sha.digest());
    }

    /** The digest in lower-case hex; the Redis key's suffix. */
    public String hex() {
        return HexFormat.of().formatHex(digest);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CacheKey k && Arrays.equals(digest, k.digest);
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public String toString() {
        return hex();
    }

    /**
     * A string as its UTF-16 code units, each of them: UTF-8 would turn a lone surrogate (which JSON's {@code \\ud800}
     * can carry) into {@code ?}, and {@code "in\\ud800"} would share a key with {@code "in?"}.
     */
    private static void text(MessageDigest sha, String s) {
        number(sha, s.length());
        byte[] b = new byte[2 * s.length()];
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            b[2 * i] = (byte) c;
            b[2 * i + 1] = (byte) (c >>> 8);
        }
        sha.update(b);
    }

    private static void number(MessageDigest sha, long n) {
        for (int i = 0; i < 8; i++) {
            sha.update((byte) (n >>> (8 * i)));
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
