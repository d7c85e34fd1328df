package io.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.runtime.configuration.DurationConverter;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.sluice.admission.Tenants;
import io.sluice.inference.Protocol;
import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The README's worked example of admission ("Admission: tenants, rate limits, bulkheads") is configuration the
 * server takes as written: every key exists, the settings pass the start's checks, and the keys its comments
 * name are the ones its hashes let in. A placeholder hash there once stopped the start of whoever copied it.
 */
class ReadmeAdmissionExampleTest {

    private static final Pattern PROPERTIES_BLOCK = Pattern.compile("```properties\\n(.*?)```", Pattern.DOTALL);

    private static Map<String, String> readmeExample() throws IOException {
        Path readme = Path.of("README.md");
        assertThat(readme).as("run from the project directory").isRegularFile();
        Matcher m = PROPERTIES_BLOCK.matcher(Files.readString(readme));
        assertThat(m.find()).as("a ```properties block in the README").isTrue();
        String block = m.group(1);
        assertThat(block).contains("sluice.auth.enabled=true");
        Properties properties = new Properties();
        properties.load(new StringReader(block));
        Map<String, String> map = new HashMap<>();
        properties.stringPropertyNames().forEach(k -> map.put(k, properties.getProperty(k)));
        return map;
    }

    private static SluiceConfig config(Map<String, String> properties) {
        return new SmallRyeConfigBuilder()
                .withMapping(SluiceConfig.class) // an unknown sluice.* key fails the build
                .withConverter(Duration.class, 200, new DurationConverter())
                .withSources(new PropertiesConfigSource(properties, "README.md", 500))
                .build()
                .getConfigMapping(SluiceConfig.class);
    }

    @Test
    void theWorkedExampleIsConfigurationTheServerStartsWith() throws IOException {
        SluiceConfig config = config(readmeExample());

        assertThat(ServerSettingsCheck.problems(config)).isEmpty();
        ModelSettings minilm = ModelSettings.resolve(config, "all-minilm-l6-v2");
        assertThat(minilm.admission().maxConcurrent()).isEqualTo(8);
        assertThat(minilm.admission().timeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(minilm.priorityLevels()).isEqualTo(2);
        assertThat(config.tenants().get("acme").rateLimit()).hasValueSatisfying(b -> {
            assertThat(b.rate()).isEqualTo(50);
            assertThat(b.burst()).contains(100);
        });
        assertThat(config.tenants().get("acme").models().get("all-minilm-l6-v2-int8").rate()).isEqualTo(5);
    }

    @Test
    void theKeysItsCommentsNameAreTheOnesItsHashesLetIn() throws IOException {
        Tenants tenants = new Tenants(config(readmeExample()));

        assertThat(tenants.names()).containsExactly("acme", "trial");
        assertThat(tenants.authenticate(List.of("Bearer acme-secret-key"), List.of(), Protocol.REST).name())
                .isEqualTo("acme");
        for (String key : List.of("trial-key-1", "trial-key-2")) {
            assertThat(tenants.authenticate(List.of(), List.of(key), Protocol.GRPC).name()).as(key).isEqualTo("trial");
        }
    }
}
