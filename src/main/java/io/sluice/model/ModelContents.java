package io.sluice.model;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * What a version's answers depend on besides the request: the SHA-256 of every file in its directory
 * (the model and any external weights, by name; the {@code warmup} folder is not read), and the
 * execution provider that runs it, whose arithmetic may differ (TensorRT in FP16 above all). The
 * response cache puts it in every key, so a file replaced under the same version number, or replicas
 * that run the same version on different providers, never share entries, in this process or in Redis.
 */
final class ModelContents {

    private ModelContents() {}

    /** The identity of {@code versionDir}'s files run on {@code provider}, as hex. */
    static String of(Path versionDir, String provider) throws IOException {
        MessageDigest sha = sha256();
        List<Path> files;
        try (Stream<Path> listing = Files.list(versionDir)) {
            files = listing.filter(Files::isRegularFile).sorted().toList();
        }
        for (Path file : files) {
            text(sha, file.getFileName().toString());
            text(sha, Long.toString(Files.size(file)));
            try (InputStream in = new DigestInputStream(Files.newInputStream(file), sha)) {
                in.transferTo(OutputStream.nullOutputStream());
            }
        }
        text(sha, provider);
        return HexFormat.of().formatHex(sha.digest());
    }

    private static void text(MessageDigest sha, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        sha.update(java.nio.ByteBuffer.allocate(Integer.BYTES).putInt(b.length).flip());
        sha.update(b);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
