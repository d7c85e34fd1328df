package io.sluice.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a repository scan keeps and what it skips, without letting one bad entry stop the others. */
class ModelRepositoryTest {

    @TempDir
    Path root;

    private Path model(Path repo, String model, String version) throws IOException {
        Path dir = Files.createDirectories(repo.resolve(model).resolve(version));
        return Files.write(dir.resolve(ModelRepository.MODEL_FILE), new byte[] {1});
    }

    @Test
    void entriesThatCannotBeServedAreSkippedAndTheRestIsKept() throws IOException {
        Path repo = root.resolve("a");
        model(repo, "m", "1");
        model(repo, "m", "v2"); // not a number
        Files.createDirectories(repo.resolve("m").resolve("3")); // no model.onnx
        Files.createDirectories(repo.resolve("noversion"));
        Files.writeString(repo.resolve("m").resolve("config.pbtxt"), "name: \"m\""); // a file beside the versions
        assertThat(ModelRepository.scan(List.of(repo)))
                .extracting(ModelSource::name, ModelSource::version)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("m", 1L));
    }

    @Test
    void aLaterRepositoryWinsANameOnlyWithAVersionToServe() throws IOException {
        Path first = root.resolve("first");
        Path second = root.resolve("second");
        model(first, "m", "1");
        model(first, "n", "1");
        Files.createDirectories(second.resolve("m")); // empty: it does not hide first's m
        model(second, "n", "7");
        assertThat(ModelRepository.scan(List.of(first, second)))
                .extracting(s -> s.name() + "/" + s.version())
                .containsExactlyInAnyOrder("m/1", "n/7");
    }

    @Test
    void aFileOrDanglingLinkWhereAModelDirectoryBelongsAndAMissingRepositoryAreSkipped() throws IOException {
        Path repo = root.resolve("r");
        model(repo, "m", "1");
        Files.createSymbolicLink(repo.resolve("gone"), root.resolve("nowhere"));
        Files.writeString(repo.resolve("README.md"), "models");
        assertThat(ModelRepository.scan(List.of(repo, root.resolve("missing"))))
                .extracting(ModelSource::name).containsExactly("m");
    }
}
