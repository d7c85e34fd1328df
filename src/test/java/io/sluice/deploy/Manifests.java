package io.sluice.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;

/** Reads the manifests under {@code kubernetes/} into fabric8's typed model, and the build's configuration. */
final class Manifests {

    /** What users apply. */
    static final Path ROOT = Path.of("kubernetes");
    /** Where quarkus-kubernetes writes at build time. */
    static final Path BUILD_OUTPUT = Path.of("target", "kubernetes");
    /** Refreshes {@code kubernetes/generated/} from a build; quoted by the drift test's failure. */
    static final String REFRESH_COMMAND = "./mvnw -q package -DskipTests && cp target/kubernetes/*.yml kubernetes/generated/";

    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private Manifests() {
    }

    /** Every manifest file under {@code kubernetes/}: all YAML but the Prometheus rules, their promtool test and Grafana. */
    static List<Path> files() {
        try (Stream<Path> walk = Files.walk(ROOT)) {
            return walk.filter(Files::isRegularFile)
                    .filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml"))
                    .filter(p -> !p.startsWith(ROOT.resolve("alerts")) && !p.startsWith(ROOT.resolve("grafana")))
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The documents of one YAML file, each as fabric8 resolves its apiVersion and kind. */
    static List<KubernetesResource> read(Path file) {
        List<KubernetesResource> resources = new ArrayList<>();
        try (MappingIterator<JsonNode> docs = YAML.readerFor(JsonNode.class).readValues(file.toFile())) {
            while (docs.hasNext()) {
                JsonNode doc = docs.next();
                if (doc != null && !doc.isNull() && !doc.isMissingNode()) {
                    resources.add(YAML.treeToValue(doc, KubernetesResource.class));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot parse " + file, e);
        }
        return resources;
    }

    /** The one document of {@code type} in {@code file} (relative to {@code kubernetes/}). */
    static <T extends KubernetesResource> T one(String file, Class<T> type) {
        List<T> found = read(ROOT.resolve(file)).stream().filter(type::isInstance).map(type::cast).toList();
        if (found.size() != 1) {
            throw new AssertionError(file + " holds " + found.size() + " " + type.getSimpleName() + ", expected 1");
        }
        return found.get(0);
    }

    /** {@code src/main/resources/application.properties}, without profiles resolved. */
    static Properties applicationProperties() {
        Properties p = new Properties();
        try (var in = Files.newInputStream(Path.of("src", "main", "resources", "application.properties"))) {
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p;
    }

    /** A duration in Quarkus's short form ({@code 15s}, {@code 5m}, {@code 250ms}). */
    static Duration duration(String value) {
        return Duration.parse(value.endsWith("ms")
                ? "PT" + Double.parseDouble(value.substring(0, value.length() - 2)) / 1000 + "S"
                : "PT" + value.toUpperCase());
    }
}
