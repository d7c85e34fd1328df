package io.sluice.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * {@code kubernetes/generated/} holds exactly what this build's quarkus-kubernetes wrote to
 * {@code target/kubernetes/}: runs after {@code package} (failsafe, integration-test phase), so a
 * change to {@code quarkus.kubernetes.*}, {@code quarkus.knative.*} or {@code src/main/kubernetes/}
 * without refreshing the copies fails the build, with the command that refreshes them.
 */
class DeploymentManifestsDriftIT {

    private static final Path GENERATED = Manifests.ROOT.resolve("generated");

    @Test
    void generatedCopiesMatchTheBuildOutput() throws IOException {
        List<String> built = ymlNames(Manifests.BUILD_OUTPUT);
        assertThat(built).as("the build wrote no manifests to %s", Manifests.BUILD_OUTPUT)
                .contains("kubernetes.yml", "knative.yml");
        assertThat(ymlNames(GENERATED)).as(stale("the set of files differs")).isEqualTo(built);
        for (String name : built) {
            List<String> expected = Files.readAllLines(Manifests.BUILD_OUTPUT.resolve(name));
            List<String> actual = Files.readAllLines(GENERATED.resolve(name));
            assertThat(actual).as(stale(name + " differs from the build's, first at line " + firstDifference(expected, actual)))
                    .isEqualTo(expected);
        }
    }

    private static String stale(String what) {
        return "kubernetes/generated/ is stale (" + what + "); refresh it with: " + Manifests.REFRESH_COMMAND;
    }

    private static List<String> ymlNames(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".yml")).sorted().toList();
        }
    }

    private static int firstDifference(List<String> a, List<String> b) {
        int i = 0;
        while (i < a.size() && i < b.size() && a.get(i).equals(b.get(i))) {
            i++;
        }
        return i + 1;
    }
}
