package io.sluice.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The identity the response cache keys a version by: its files and its provider, nothing else. */
class ModelContentsTest {

    @TempDir
    Path version;

    @Test
    void changesWithAnyFileOrTheProviderButNotWithWarmupData() throws IOException {
        Files.write(version.resolve("model.onnx"), new byte[] {1, 2, 3});
        String first = ModelContents.of(version, "cpu");
        assertThat(first).hasSize(64).isEqualTo(ModelContents.of(version, "cpu"));

        Files.createDirectories(version.resolve("warmup"));
        Files.write(version.resolve("warmup").resolve("input_ids"), new byte[] {9});
        assertThat(ModelContents.of(version, "cpu")).as("warmup data").isEqualTo(first);

        assertThat(ModelContents.of(version, "cuda")).as("another provider").isNotEqualTo(first);

        Files.write(version.resolve("model.onnx"), new byte[] {1, 2, 4});
        String retrained = ModelContents.of(version, "cpu");
        assertThat(retrained).as("the same version number over another file").isNotEqualTo(first);

        Files.write(version.resolve("model.onnx.data"), new byte[] {5});
        assertThat(ModelContents.of(version, "cpu")).as("external weights").isNotEqualTo(retrained);
    }
}
