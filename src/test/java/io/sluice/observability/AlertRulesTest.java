package io.sluice.observability;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The shipped alert rules stay consistent: the PrometheusRule carries exactly the groups of the
 * plain rules file, every alert has a promtool test case, and every metric a rule uses is one Sluice
 * exports. ({@code promtool test rules} itself runs in {@code .ci/run}.)
 */
class AlertRulesTest {

    private static final Path RULES = Path.of("kubernetes/alerts/sluice-rules.yaml");
    private static final Path RULE_TESTS = Path.of("kubernetes/alerts/sluice-rules-test.yaml");
    private static final Path PROMETHEUS_RULE = Path.of("kubernetes/sluice-prometheusrule.yaml");

    @Test
    void thePrometheusRuleCarriesTheRulesFileVerbatim() throws IOException {
        String spec = Files.readString(PROMETHEUS_RULE);
        spec = spec.substring(spec.indexOf("spec:\n") + "spec:\n".length());
        String deindented = spec.lines().map(l -> l.startsWith("  ") ? l.substring(2) : l)
                .reduce("", (a, b) -> a + b + "\n");
        assertThat(deindented).isEqualTo(withoutComments(Files.readString(RULES)));
    }

    @Test
    void everyAlertHasAPromtoolTest() throws IOException {
        List<String> alerts = all(Pattern.compile("- alert: (\\w+)"), Files.readString(RULES));
        String tests = Files.readString(RULE_TESTS);
        assertThat(alerts).hasSizeGreaterThanOrEqualTo(6);
        for (String alert : alerts) {
            assertThat(tests).as("a test case for %s", alert).contains("alertname: " + alert + "\n");
        }
    }

    @Test
    void rulesUseOnlyExportedMetricNames() throws IOException {
        List<String> used = all(Pattern.compile("\\b(sluice_[a-z_]+)"), Files.readString(RULES));
        List<String> exported = List.of(
                prom(MetricNames.REQUESTS) + "_total",
                prom(MetricNames.REQUEST_DURATION) + "_seconds_bucket",
                prom(MetricNames.QUEUE_DEPTH),
                prom(MetricNames.BULKHEAD_HELD),
                prom(MetricNames.CONCURRENCY_LIMIT),
                prom(MetricNames.MODEL_READY),
                prom(MetricNames.MODEL_VERSIONS),
                prom(MetricNames.MODEL_WARMUP),
                prom(MetricNames.REJECTIONS) + "_total",
                prom(MetricNames.RATE_LIMIT_FALLBACKS) + "_total",
                prom(MetricNames.TENANT_REQUESTS) + "_total",
                prom(MetricNames.UNAUTHENTICATED) + "_total");
        assertThat(exported).containsAll(used);
    }

    private static String prom(String micrometerName) {
        return micrometerName.replace('.', '_');
    }

    private static String withoutComments(String yaml) {
        return yaml.lines().filter(l -> !l.startsWith("#")).reduce("", (a, b) -> a + b + "\n");
    }

    private static List<String> all(Pattern pattern, String text) {
        Matcher m = pattern.matcher(text);
        List<String> out = new java.util.ArrayList<>();
        while (m.find()) {
            out.add(m.group(1));
        }
        return out.stream().distinct().toList();
    }
}
