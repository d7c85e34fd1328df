package io.sluice.model;

import io.sluice.config.VersionPolicy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.jboss.logging.Logger;

/**
 * Reads model repositories laid out as {@code <repo>/<model>/<version>/model.onnx} (Triton's layout). A
 * repository that is itself one model, as KServe lays one out in {@code /mnt/models} ({@code
 * <repo>/model.onnx}, or {@code <repo>/<version>/model.onnx}, and no model directory), is served under a
 * name given in the configuration, or else its directory's name; a root {@code model.onnx} is version 1. Names and
 * versions are checked here and again on every request, so a name can never be a path trick.
 */
public final class ModelRepository {

    private static final Logger LOG = Logger.getLogger(ModelRepository.class);
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");
    private static final Pattern VERSION = Pattern.compile("[1-9][0-9]{0,17}");
    static final String MODEL_FILE = "model.onnx";

    private ModelRepository() {}

    /** True for a model name that is safe as a directory name and a URL segment. */
    public static boolean validName(String name) {
        return name != null && NAME.matcher(name).matches() && !name.contains("..");
    }

    /** True for a positive integer version of at most 18 digits (every one fits a long, with room to compare). */
    public static boolean validVersion(String version) {
        return version != null && VERSION.matcher(version).matches();
    }

    /**
     * The versions of {@code found} that their model's version policy serves (see {@link VersionPolicy}); the
     * others are logged and never loaded.
     *
     * @throws IllegalStateException when a policy serves none of its model's versions: a configuration error,
     *     which stops the start rather than leave the model out of readiness and its alerts
     */
    public static List<ModelSource> served(List<ModelSource> found, Function<String, VersionPolicy> policies) {
        Map<String, List<ModelSource>> byName = new LinkedHashMap<>();
        found.forEach(s -> byName.computeIfAbsent(s.name(), n -> new ArrayList<>()).add(s));
        List<ModelSource> served = new ArrayList<>();
        byName.forEach((name, versions) -> {
            VersionPolicy policy = policies.apply(name);
            List<Long> numbers = versions.stream().map(ModelSource::version).sorted().toList();
            List<Long> chosen = policy.select(numbers);
            Set<Long> kept = Set.copyOf(chosen);
            versions.stream().filter(s -> kept.contains(s.version())).forEach(served::add);
            if (kept.isEmpty()) {
                throw new IllegalStateException("configuration of model '" + name + "': version-policy " + policy
                        + " (sluice.models.\"" + name + "\".version-policy, or sluice.model-defaults.version-policy)"
                        + " serves none of the versions in the repository, " + numbers);
            } else if (kept.size() < numbers.size()) {
                LOG.infof("model %s: version-policy %s serves versions %s of %s", name, policy, chosen, numbers);
            }
            if (policy.kind() == VersionPolicy.Kind.SPECIFIC) {
                policy.versions().stream().filter(v -> !numbers.contains(v)).sorted().forEach(v -> LOG.warnf(
                        "model %s: version-policy %s names version %d, which the repository does not have", name, policy, v));
            }
        });
        return served;
    }

    /**
     * Every model version under the given repositories; a later repository wins a name clash. What cannot be
     * served is skipped with a warning naming it (a directory that cannot be read, a model without a version
     * directory holding a {@value #MODEL_FILE}), never stopping the others.
     */
    public static List<ModelSource> scan(List<Path> repositories) {
        return scan(repositories, Optional.empty());
    }

    /**
     * As {@link #scan(List)}; a repository that is itself one model is served as {@code modelName}, or
     * when that is empty as its directory's name.
     */
    public static List<ModelSource> scan(List<Path> repositories, Optional<String> modelName) {
        List<ModelSource> found = new ArrayList<>();
        for (Path repo : repositories) {
            if (!Files.isDirectory(repo)) {
                LOG.warnf("model repository %s does not exist; skipped", repo.toAbsolutePath());
                continue;
            }
            if (oneModel(repo)) {
                Path dir = repo.toAbsolutePath().normalize().getFileName();
                String name = modelName.orElse(dir == null ? "" : dir.toString());
                if (!validName(name)) {
                    LOG.warnf("skipping %s: it holds one model, and '%s' is not a valid model name"
                            + " (set sluice.repository.model-name)", repo, name);
                    continue;
                }
                List<ModelSource> versions = oneModelVersions(name, repo);
                LOG.infof("model repository %s is one model, served as '%s'", repo, name);
                replace(found, name, versions, repo);
                continue;
            }
            for (Path modelDir : list(repo)) {
                String name = modelDir.getFileName().toString();
                if (!Files.isDirectory(modelDir)) {
                    LOG.warnf("skipping %s: not a directory", modelDir);
                    continue;
                }
                if (!validName(name)) {
                    LOG.warnf("skipping %s: not a valid model name", modelDir);
                    continue;
                }
                List<ModelSource> versions = versions(name, modelDir, true);
                if (versions.isEmpty()) {
                    LOG.warnf("skipping model %s: no <version>/%s under %s (a version is a positive integer of at"
                            + " most 18 digits)",
                            name, MODEL_FILE, modelDir);
                    continue;
                }
                replace(found, name, versions, repo);
            }
        }
        return found;
    }

    /** Adds {@code versions} of {@code name}, found in {@code repo}, in place of any an earlier repository had; says so. */
    private static void replace(List<ModelSource> found, String name, List<ModelSource> versions, Path repo) {
        if (found.removeIf(s -> s.name().equals(name))) {
            LOG.warnf("model %s is in more than one repository; the one in %s is served (a later repository wins)",
                    name, repo);
        }
        found.addAll(versions);
    }

    /**
     * Whether {@code repo} is one model rather than a repository of them: it holds {@value #MODEL_FILE}, or a
     * version directory that does, and no model directory (one holding a version directory with {@value
     * #MODEL_FILE}, as in Triton's layout). So a stray {@code <repo>/model.onnx} or {@code <repo>/3/model.onnx}
     * beside models is skipped as before, and a directory such as {@code lost+found} beside the versions of
     * one model does not hide them.
     */
    private static boolean oneModel(Path repo) {
        List<Path> dirs = list(repo).stream().filter(Files::isDirectory).toList();
        if (dirs.stream().anyMatch(ModelRepository::modelDirectory)) {
            return false;
        }
        return Files.isRegularFile(repo.resolve(MODEL_FILE)) || dirs.stream().anyMatch(d ->
                validVersion(d.getFileName().toString()) && Files.isRegularFile(d.resolve(MODEL_FILE)));
    }

    /**
     * A directory laid out as a model: no {@value #MODEL_FILE} of its own, a version directory holding one. One that
     * cannot be read is not; it is logged as an error when its name could be a model's, and passed over without a
     * word otherwise: a volume's {@code lost+found} (root's alone to read) would log an error at every start.
     */
    private static boolean modelDirectory(Path dir) {
        if (Files.isRegularFile(dir.resolve(MODEL_FILE))) {
            return false;
        }
        try (Stream<Path> children = Files.list(dir)) {
            return children.anyMatch(v -> validVersion(v.getFileName().toString()) && Files.isRegularFile(v.resolve(MODEL_FILE)));
        } catch (IOException | UncheckedIOException e) {
            if (validName(dir.getFileName().toString())) {
                LOG.errorf("cannot read %s (%s); skipped", dir, e.getMessage() == null ? e : e.getMessage());
            }
            return false;
        }
    }

    /** The versions of a repository that is one model: its version directories, and a root file as version 1. */
    private static List<ModelSource> oneModelVersions(String name, Path repo) {
        // the root's other folders (its warmup samples, a volume's lost+found) are not meant as versions
        List<ModelSource> versions = new ArrayList<>(versions(name, repo, false));
        Path rootFile = repo.resolve(MODEL_FILE);
        if (Files.isRegularFile(rootFile)) {
            if (versions.stream().anyMatch(v -> v.version() == 1)) {
                LOG.warnf("skipping %s: version 1 of '%s' is %s", rootFile, name, repo.resolve("1").resolve(MODEL_FILE));
            } else {
                versions.add(new ModelSource(name, 1, rootFile));
            }
        }
        return versions;
    }

    /**
     * The version directories of {@code modelDir} holding {@value #MODEL_FILE}; every other directory is skipped,
     * with a warning when {@code warnOthers} (a model directory holds nothing else), or when it looks meant as a
     * version: a name of digits ({@code 0}, {@code 01}, 19 digits) or a {@value #MODEL_FILE} in it.
     */
    private static List<ModelSource> versions(String name, Path modelDir, boolean warnOthers) {
        List<ModelSource> versions = new ArrayList<>();
        for (Path versionDir : list(modelDir)) {
            String version = versionDir.getFileName().toString();
            Path file = versionDir.resolve(MODEL_FILE);
            if (validVersion(version) && Files.isRegularFile(file)) {
                versions.add(new ModelSource(name, Long.parseLong(version), file));
            } else if (Files.isDirectory(versionDir)
                    && (warnOthers || version.chars().allMatch(Character::isDigit) || Files.isRegularFile(file))) {
                LOG.warnf("skipping %s: %s", versionDir, validVersion(version) ? "no " + MODEL_FILE + " in it"
                        : "a version directory's name is a positive integer of at most 18 digits");
            }
        }
        return versions;
    }

    /** The entries of {@code dir}, sorted; none, with an error logged, when it cannot be read. */
    private static List<Path> list(Path dir) {
        try (Stream<Path> children = Files.list(dir)) {
            return children.sorted().toList();
        } catch (IOException | UncheckedIOException e) {
            LOG.errorf("cannot read %s (%s); skipped", dir, e.getMessage() == null ? e : e.getMessage());
            return List.of();
        }
    }
}
