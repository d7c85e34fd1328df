package io.sluice.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
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
        List<String> warnings = warningsDuring(() -> assertThat(ModelRepository.scan(List.of(first, second)))
                .extracting(s -> s.name() + "/" + s.version())
                .containsExactlyInAnyOrder("m/1", "n/7"));
        // the clash is said, naming the model and the repository served; m's empty directory is no clash
        assertThat(warnings).anySatisfy(w -> assertThat(w).contains("model n is in more than one repository")
                .contains(second.toString()));
        assertThat(warnings).noneMatch(w -> w.contains("model m is in more than one"));
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

    @Test
    void aRepositoryThatIsOneModelAsKServeMountsItIsServedUnderTheConfiguredName() throws IOException {
        Path flat = Files.createDirectories(root.resolve("mnt-models"));
        Files.write(flat.resolve(ModelRepository.MODEL_FILE), new byte[] {1});
        assertThat(ModelRepository.scan(List.of(flat), Optional.of("style-sample")))
                .extracting(s -> s.name() + "/" + s.version() + " " + root.relativize(s.file()))
                .containsExactly("style-sample/1 mnt-models/model.onnx");
        // versioned, and without a configured name: the directory's own
        Path versioned = root.resolve("minilm");
        model(root, "minilm", "2");
        model(root, "minilm", "3");
        assertThat(ModelRepository.scan(List.of(versioned), Optional.empty()))
                .extracting(s -> s.name() + "/" + s.version()).containsExactlyInAnyOrder("minilm/2", "minilm/3");
    }

    @Test
    void aTritonRepositoryIsNotTakenForOneModelAndANameThatCannotServeIsSkipped() throws IOException {
        Path repo = root.resolve("repo");
        model(repo, "1", "1"); // a model named 1: <repo>/1/1/model.onnx, not a version directory
        model(repo, "m", "1");
        assertThat(ModelRepository.scan(List.of(repo), Optional.of("ignored")))
                .extracting(s -> s.name() + "/" + s.version()).containsExactlyInAnyOrder("1/1", "m/1");
        model(repo, "", "3"); // a stray <repo>/3/model.onnx beside models: skipped, the models kept
        assertThat(ModelRepository.scan(List.of(repo), Optional.of("ignored")))
                .extracting(s -> s.name() + "/" + s.version()).containsExactlyInAnyOrder("1/1", "m/1");
        Path flat = Files.createDirectories(root.resolve("flat"));
        Files.write(flat.resolve(ModelRepository.MODEL_FILE), new byte[] {1});
        assertThat(ModelRepository.scan(List.of(flat, repo), Optional.of("../x")))
                .extracting(ModelSource::name).containsExactlyInAnyOrder("1", "m");
    }

    /** The warnings {@link ModelRepository} logs while {@code scan} runs. */
    private static List<String> warningsDuring(Runnable scan) {
        List<String> warnings = new ArrayList<>();
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord record) {
                if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
                    warnings.add(String.format(record.getMessage(), record.getParameters()));
                }
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        Logger logger = Logger.getLogger(ModelRepository.class.getName());
        logger.addHandler(handler);
        try {
            scan.run();
        } finally {
            logger.removeHandler(handler);
        }
        return warnings;
    }

    @Test
    void aRootModelFileBesideModelsIsSkippedAndAFolderBesideVersionsIsIgnored() throws IOException {
        Path repo = root.resolve("triton");
        model(repo, "m", "1");
        Files.write(repo.resolve(ModelRepository.MODEL_FILE), new byte[] {1}); // stray: the models stay
        assertThat(ModelRepository.scan(List.of(repo), Optional.of("x")))
                .extracting(s -> s.name() + "/" + s.version()).containsExactly("m/1");

        Path volume = root.resolve("volume"); // a volume's root: lost+found and a hidden folder beside the versions
        model(volume, "", "1");
        model(volume, "", "2");
        Files.createDirectories(volume.resolve("lost+found"));
        Files.createDirectories(volume.resolve("warmup")); // a root file's warmup samples live here
        Files.createDirectories(volume.resolve(".cache").resolve("1"));
        Files.createDirectories(volume.resolve("3")); // a version without its file, and names meant as versions: said
        model(volume, "", "0");
        model(volume, "", "1234567890123456789");
        Files.write(Files.createDirectories(volume.resolve("v4")).resolve(ModelRepository.MODEL_FILE), new byte[] {1});
        List<String> warnings = warningsDuring(() -> assertThat(ModelRepository.scan(List.of(volume), Optional.of("isvc")))
                .extracting(s -> s.name() + "/" + s.version()).containsExactlyInAnyOrder("isvc/1", "isvc/2"));
        String notAVersion = ": a version directory's name is a positive integer of at most 18 digits";
        assertThat(warnings).containsExactlyInAnyOrder("skipping " + volume.resolve("3") + ": no model.onnx in it",
                "skipping " + volume.resolve("0") + notAVersion,
                "skipping " + volume.resolve("1234567890123456789") + notAVersion,
                "skipping " + volume.resolve("v4") + notAVersion);

        Files.write(volume.resolve(ModelRepository.MODEL_FILE), new byte[] {1}); // version 1 is 1/model.onnx
        assertThat(ModelRepository.scan(List.of(volume), Optional.of("isvc")))
                .extracting(s -> s.version() + " " + volume.relativize(s.file()))
                .containsExactlyInAnyOrder("1 1/model.onnx", "2 2/model.onnx");
        Path rootAndTwo = root.resolve("root-and-two");
        model(rootAndTwo, "", "2");
        Files.write(rootAndTwo.resolve(ModelRepository.MODEL_FILE), new byte[] {1});
        assertThat(ModelRepository.scan(List.of(rootAndTwo), Optional.of("isvc")))
                .extracting(s -> s.version() + " " + rootAndTwo.relativize(s.file()))
                .containsExactlyInAnyOrder("1 model.onnx", "2 2/model.onnx");
    }

    @Test
    void aVersionPolicyKeepsOnlyTheVersionsItServesOfItsModel() throws IOException {
        Path repo = root.resolve("policies");
        for (String v : List.of("1", "2", "3")) {
            model(repo, "newest", v);
            model(repo, "every", v);
            model(repo, "named", v);
        }
        List<ModelSource> served = ModelRepository.served(ModelRepository.scan(List.of(repo)), name -> switch (name) {
            case "newest" -> io.sluice.config.VersionPolicy.parse("latest:2");
            case "named" -> io.sluice.config.VersionPolicy.parse("specific:1,9");
            default -> io.sluice.config.VersionPolicy.ALL;
        });
        assertThat(served).extracting(s -> s.name() + "/" + s.version())
                .containsExactlyInAnyOrder("newest/2", "newest/3", "every/1", "every/2", "every/3", "named/1");
        // a policy that serves none of them is a configuration error, not a model quietly left out
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ModelRepository.served(
                ModelRepository.scan(List.of(repo)), name -> io.sluice.config.VersionPolicy.parse(
                        name.equals("named") ? "specific:7" : "all")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("model 'named': version-policy specific:7 (sluice.models.\"named\".version-policy,")
                .hasMessageEndingWith("serves none of the versions in the repository, [1, 2, 3]");
    }
}
