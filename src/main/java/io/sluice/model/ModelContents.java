package io.sluice.model;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitOption;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;

/**
 * What a version's answers depend on besides the request: the SHA-256 of every file under its directory
 * (the model and any external weights, in subfolders too, by relative path; the {@code warmup} folder is
 * not read; nor, where the folder is a one-model repository's root, whose {@code model.onnx} is version 1, the other
 * versions' folders beside it). The response cache puts it, with the provider that runs the version, in every key, so a file
 * replaced under the same version number never shares entries with the old one, in this process or in
 * Redis. A file that cannot be read counts by its name alone: ONNX Runtime reports it if the model needs it;
 * so does a folder that cannot be listed ({@code lost+found} at the root of a volume a model is mounted from).
 */
final class ModelContents {

    private static final String WARMUP = "warmup";

    private ModelContents() {}

    /** A version's files by relative path, sorted, and those its listing could not read. */
    private record Listing(Path versionDir, List<Path> files, List<Path> unreadable) {}

    /**
     * The digest of the files under {@code versionDir}, as hex. Symbolic links are followed, the directory's
     * own included (a repository laid out with links, as Kubernetes' ConfigMap and git-sync volumes are).
     */
    static String of(Path linkedDir) throws IOException {
        Listing listing = list(linkedDir);
        MessageDigest sha = sha256();
        for (Path relative : listing.files()) {
            text(sha, relative.toString());
            // each file's own digest, of fixed length: its bytes fed straight in could run on into the next name
            MessageDigest file = sha256();
            try (InputStream in = new DigestInputStream(Files.newInputStream(listing.versionDir().resolve(relative)),
                    file)) {
                in.transferTo(OutputStream.nullOutputStream());
                text(sha, "bytes");
                sha.update(file.digest());
            } catch (IOException e) { // gone since the listing, or not ours to read
                text(sha, "unreadable");
            }
        }
        for (Path relative : listing.unreadable()) {
            text(sha, relative.toString());
            text(sha, "unlisted");
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /**
     * What the same files look like without reading them: each one's path, size, modification time and file key
     * (its inode), as text. Taken before {@link #of} and again once the session has read the files, it tells a file
     * written over in place meanwhile (a {@code cp} or {@code rsync --inplace} onto the served folder): then the
     * session may hold other bytes than the digest says.
     */
    static String stamp(Path linkedDir) throws IOException {
        Listing listing = list(linkedDir);
        StringBuilder stamp = new StringBuilder();
        for (Path relative : listing.files()) {
            stamp.append(relative).append('\0');
            try {
                BasicFileAttributes a = Files.readAttributes(listing.versionDir().resolve(relative),
                        BasicFileAttributes.class);
                stamp.append(a.size()).append('\0').append(a.lastModifiedTime().toMillis()).append('\0')
                        .append(a.fileKey());
            } catch (IOException e) {
                stamp.append("unreadable");
            }
            stamp.append('\n');
        }
        listing.unreadable().forEach(relative -> stamp.append(relative).append("\0unlisted\n"));
        return stamp.toString();
    }

    private static Listing list(Path linkedDir) throws IOException {
        Path versionDir = linkedDir.toRealPath();
        // a version directory is named as one; a one-model repository's root (KServe's /mnt/models) is not
        boolean root = !ModelRepository.validVersion(linkedDir.getFileName() == null ? "" : linkedDir.getFileName().toString());
        List<Path> files = new ArrayList<>();
        List<Path> unreadable = new ArrayList<>();
        Files.walkFileTree(versionDir, EnumSet.of(FileVisitOption.FOLLOW_LINKS), Integer.MAX_VALUE, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                if (dir.getParent() == null || !dir.getParent().equals(versionDir)) {
                    return FileVisitResult.CONTINUE;
                }
                String name = dir.getFileName().toString();
                boolean anotherVersion = root && ModelRepository.validVersion(name) && Files.isRegularFile(dir.resolve(ModelRepository.MODEL_FILE));
                return name.equals(WARMUP) || anotherVersion ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                if (attrs.isRegularFile()) {
                    files.add(versionDir.relativize(file));
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) { // a folder not ours to read (lost+found), a loop
                unreadable.add(versionDir.relativize(file));
                return FileVisitResult.CONTINUE;
            }
        });
        files.sort(null);
        unreadable.sort(null);
        return new Listing(versionDir, files, unreadable);
    }

    /**
     * A digest no other load shares: for a version whose files changed while it loaded, whose answers then stay this
     * load's own (its entries in Redis are never read by another replica, nor by this one after a reload).
     */
    static String unshared() {
        return "unshared-" + java.util.UUID.randomUUID();
    }

    private static void text(MessageDigest sha, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        sha.update(ByteBuffer.allocate(Integer.BYTES).putInt(b.length).flip());
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
