package io.sluice.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The identity the response cache keys a version's files by: every file under it but the warmup data. */
class ModelContentsTest {

    @TempDir
    Path version;

    @Test
    void changesWithAnyFileButNotWithWarmupData() throws IOException {
        Files.write(version.resolve("model.onnx"), new byte[] {1, 2, 3});
        String first = ModelContents.of(version);
        assertThat(first).hasSize(64).isEqualTo(ModelContents.of(version));

        Files.createDirectories(version.resolve("warmup"));
        Files.write(version.resolve("warmup").resolve("input_ids"), new byte[] {9});
        assertThat(ModelContents.of(version)).as("warmup data").isEqualTo(first);

        Files.write(version.resolve("model.onnx"), new byte[] {1, 2, 4});
        String retrained = ModelContents.of(version);
        assertThat(retrained).as("the same version number over another file").isNotEqualTo(first);

        Files.write(version.resolve("model.onnx.data"), new byte[] {5});
        String external = ModelContents.of(version);
        assertThat(external).as("external weights").isNotEqualTo(retrained);

        Files.createDirectories(version.resolve("weights"));
        Files.write(version.resolve("weights").resolve("layer0.bin"), new byte[] {6});
        assertThat(ModelContents.of(version)).as("external weights in a subfolder").isNotEqualTo(external);
    }

    @Test
    void oneFileMadeOfTwoFilesAndTheirFramingIsNotTheTwo(@TempDir Path other) throws IOException {
        // a = P, b = Q against a lone a = P, then what a digest fed the raw bytes wrote between two files, then Q
        byte[] p = {1, 2, 3};
        byte[] q = {4, 5};
        Files.write(version.resolve("a"), p);
        Files.write(version.resolve("b"), q);
        java.io.ByteArrayOutputStream forged = new java.io.ByteArrayOutputStream();
        forged.write(p);
        for (String framing : new String[] {"b", "bytes"}) {
            byte[] text = framing.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            forged.write(java.nio.ByteBuffer.allocate(4).putInt(text.length).array());
            forged.write(text);
        }
        forged.write(q);
        Files.write(other.resolve("a"), forged.toByteArray());

        assertThat(ModelContents.of(other)).isNotEqualTo(ModelContents.of(version));
    }

    @Test
    void theStampSeesAFileWrittenOverInPlaceButNotWarmupData() throws IOException {
        Path model = version.resolve("model.onnx");
        Files.write(model, new byte[] {1, 2, 3});
        java.nio.file.attribute.FileTime then = java.nio.file.attribute.FileTime.fromMillis(1_700_000_000_000L);
        Files.setLastModifiedTime(model, then);
        String before = ModelContents.stamp(version);
        assertThat(ModelContents.stamp(version)).isEqualTo(before);
        Files.createDirectories(version.resolve("warmup"));
        Files.write(version.resolve("warmup").resolve("input_ids"), new byte[] {9});
        assertThat(ModelContents.stamp(version)).as("warmup data").isEqualTo(before);

        Files.write(model, new byte[] {7, 8, 9}); // the same length, in place (cp onto it): the same inode
        Files.setLastModifiedTime(model, java.nio.file.attribute.FileTime.from(then.toInstant().plusSeconds(1)));
        assertThat(ModelContents.stamp(version)).as("written over").isNotEqualTo(before);

        assertThat(ModelContents.unshared()).isNotEqualTo(ModelContents.unshared());
    }

    @Test
    void aLoadWhoseFilesChangedMeanwhileKeepsItsAnswersItsOwn() throws IOException {
        Path model = version.resolve("model.onnx");
        Files.write(model, new byte[] {1, 2, 3});
        String stamp = ModelContents.stamp(version);
        String files = ModelContents.of(version);
        assertThat(ModelLoader.settled("m/1", version, stamp, files)).as("unchanged").isEqualTo(files);
        assertThat(ModelLoader.settled("m/1", version, null, null)).as("cache off").isNull();

        Files.write(model, new byte[] {1, 2, 3, 4}); // written over while the session read it
        assertThat(ModelLoader.settled("m/1", version, stamp, files)).startsWith("unshared-").isNotEqualTo(files);

        Path gone = Files.createDirectories(version.resolve("gone"));
        Files.write(gone.resolve("model.onnx"), new byte[] {1});
        String goneStamp = ModelContents.stamp(gone);
        Files.delete(gone.resolve("model.onnx"));
        Files.delete(gone);
        assertThat(ModelLoader.settled("m/2", gone, goneStamp, "digest")).as("its folder gone").startsWith("unshared-");
    }

    @Test
    void theRootFileOfAOneModelRepositoryIsNotKeyedByTheOtherVersions() throws IOException {
        // <repo>/model.onnx is version 1 beside <repo>/2/model.onnx: a new version 2 must not drop version 1's entries
        Files.write(version.resolve("model.onnx"), new byte[] {1});
        String alone = ModelContents.of(version);
        Files.createDirectories(version.resolve("2"));
        Files.write(version.resolve("2").resolve("model.onnx"), new byte[] {2});
        assertThat(ModelContents.of(version)).isEqualTo(alone);
        Files.write(version.resolve("2").resolve("model.onnx"), new byte[] {3});
        assertThat(ModelContents.of(version)).isEqualTo(alone);
        // a numbered folder of weights (no model.onnx in it) is still the version's own, as is one never served as a
        // version (0 is not one)
        Files.createDirectories(version.resolve("7"));
        Files.write(version.resolve("7").resolve("shard.bin"), new byte[] {4});
        String withShard = ModelContents.of(version);
        assertThat(withShard).isNotEqualTo(alone);
        Files.createDirectories(version.resolve("0"));
        Files.write(version.resolve("0").resolve("model.onnx"), new byte[] {5});
        assertThat(ModelContents.of(version)).isNotEqualTo(withShard);
        // inside a version directory of Triton's layout, <model>/1/, every folder is the version's own
        Path one = Files.createDirectories(version.resolve("triton").resolve("1"));
        Files.write(one.resolve("model.onnx"), new byte[] {1});
        String tritonAlone = ModelContents.of(one);
        Files.createDirectories(one.resolve("2"));
        Files.write(one.resolve("2").resolve("model.onnx"), new byte[] {2});
        assertThat(ModelContents.of(one)).isNotEqualTo(tritonAlone);
    }

    @Test
    void followsLinksTheVersionDirectoryItselfIncluded(@TempDir Path elsewhere) throws IOException {
        Path real = Files.createDirectories(elsewhere.resolve("real"));
        Files.write(real.resolve("model.onnx"), new byte[] {1, 2, 3});
        Path weights = Files.createDirectories(elsewhere.resolve("weights"));
        Files.write(weights.resolve("layer0.bin"), new byte[] {6});
        Files.createSymbolicLink(real.resolve("weights"), weights);
        Path linked = Files.createSymbolicLink(version.resolve("1"), real); // <model>/1 -> real

        String before = ModelContents.of(linked);
        assertThat(before).isEqualTo(ModelContents.of(real));
        Files.write(weights.resolve("layer0.bin"), new byte[] {7});
        assertThat(ModelContents.of(linked)).as("a file behind a linked folder").isNotEqualTo(before);
        Files.write(real.resolve("model.onnx"), new byte[] {1, 2, 4});
        String after = ModelContents.of(linked);
        Files.delete(real.resolve("model.onnx"));
        assertThat(ModelContents.of(linked)).as("the model file behind the linked version").isNotEqualTo(after);
    }

    @Test
    void aFolderThatCannotBeListedCountsByItsNameAndFailsNothing(@TempDir Path dir) throws IOException {
        Files.write(dir.resolve("model.onnx"), new byte[] {1, 2, 3});
        String plain = ModelContents.of(dir);
        // a link loop cannot be listed (the tests run as root, for whom no permission bit hides a folder)
        Path sub = Files.createDirectories(dir.resolve("sub"));
        Files.createSymbolicLink(sub.resolve("loop"), dir);
        assertThat(ModelContents.of(dir)).hasSize(64).isNotEqualTo(plain);
    }
}
