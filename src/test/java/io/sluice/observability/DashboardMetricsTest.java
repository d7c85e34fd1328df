package io.sluice.observability;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.sluice.Await;
import io.sluice.TinyRepositoryResource;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Every metric the Grafana dashboard and the alert rules query is one that {@code /q/metrics} actually exports. */
@QuarkusTest
@QuarkusTestResource(TinyRepositoryResource.class)
class DashboardMetricsTest {

    private static final Pattern METRIC = Pattern.compile("\\b(sluice_[a-z_]+)");

    @Test
    void requestAndRejectionCountersExistBeforeTheirFirstIncrement() {
        Await.serverReady();
        // every series is there from the start, whatever has been sent (other classes share this server): most
        // of these combinations never happen in the tests, so only registration at discovery can make them
        String scrape = given().get("/q/metrics").then().statusCode(200).extract().asString();
        for (String reason : new String[] {"rate_limited", "deadline", "not_ready", "queue_full", "bulkhead_full",
                "circuit_open", "no_memory"}) {
            assertThat(scrape).containsPattern("(?m)^sluice_rejections_total\\{model=\"identity_int16\",reason=\""
                    + reason + "\"} [0-9.E]+( #.*)?$");
        }
        // auth is off here: everyone is the anonymous tenant
        for (String outcome : new String[] {"success", "rate_limited"}) {
            assertThat(scrape).containsPattern("(?m)^sluice_tenant_requests_total\\{model=\"identity_int16\",outcome=\""
                    + outcome + "\",tenant=\"anonymous\"} [0-9.E]+( #.*)?$");
        }
        for (String outcome : new String[] {"success", "invalid", "rate_limited", "unavailable", "deadline", "cancelled",
                "error"}) {
            for (String protocol : new String[] {"grpc", "rest"}) {
                assertThat(scrape).containsPattern("(?m)^sluice_requests_total\\{model=\"identity_int16\",outcome=\""
                        + outcome + "\",protocol=\"" + protocol + "\"} [0-9.E]+( #.*)?$");
            }
        }
    }

    @Test
    void everyDashboardMetricIsScraped() throws IOException {
        Await.serverReady();
        given().contentType("application/json")
                .body("{\"inputs\":[{\"name\":\"X\",\"datatype\":\"FP32\",\"shape\":[1,3],\"data\":[1,1,1]}]}")
                .post("/v2/models/matmul/infer").then().statusCode(200);
        // a cached model (twice: a miss, then a hit) and a rejection (the corrupt model is FAILED: 503)
        for (int i = 0; i < 2; i++) {
            given().contentType("application/json")
                    .body("{\"inputs\":[{\"name\":\"INPUT0\",\"datatype\":\"FP64\",\"shape\":[1,4],\"data\":[1,2,3,4]}]}")
                    .post("/v2/models/identity_fp64/infer").then().statusCode(200);
        }
        given().contentType("application/json").body("{\"inputs\":[]}").post("/v2/models/corrupt/infer")
                .then().statusCode(503);
        String scrape = given().get("/q/metrics").then().statusCode(200).extract().asString();
        // buckets from a cache hit's fraction of a millisecond to the default admission timeout of 60 s
        assertThat(scrape).containsPattern("(?m)^sluice_request_duration_seconds_bucket\\{[^}]*le=\"(2\\.5E-4|0\\.00025)\"")
                .containsPattern("(?m)^sluice_request_duration_seconds_bucket\\{[^}]*le=\"60\\.0\"");

        Set<String> used = new TreeSet<>();
        JsonNode dashboard = new ObjectMapper().readTree(Path.of("kubernetes/grafana/sluice-dashboard.json").toFile());
        for (JsonNode panel : dashboard.get("panels")) {
            for (JsonNode target : panel.get("targets")) {
                Matcher m = METRIC.matcher(target.get("expr").asText());
                while (m.find()) {
                    used.add(m.group(1));
                }
            }
        }
        assertThat(used).contains("sluice_request_duration_seconds_bucket", "sluice_requests_total",
                "sluice_queue_depth", "sluice_batch_size_sum", "sluice_cache_requests_total", "sluice_rejections_total",
                "sluice_rate_limit_fallbacks_total", "sluice_bulkhead_held", "sluice_concurrency_limit",
                "sluice_tenant_requests_total", "sluice_unauthenticated_total");
        for (String metric : used) {
            assertThat(scrape).as("%s in /q/metrics", metric).containsPattern("(?m)^" + metric + "[{ ]");
        }
        // and every metric the alert rules read, the process's own (its uptime) included
        Set<String> alerting = new TreeSet<>();
        Matcher rules = Pattern.compile("\\b((?:sluice|process)_[a-z_]+)")
                .matcher(java.nio.file.Files.readString(Path.of("kubernetes/alerts/sluice-rules.yaml")));
        while (rules.find()) {
            alerting.add(rules.group(1));
        }
        assertThat(alerting).contains("process_uptime_seconds", "sluice_model_ready");
        for (String metric : alerting) {
            assertThat(scrape).as("%s (alert rules) in /q/metrics", metric).containsPattern("(?m)^" + metric + "[{ ]");
        }
        // the guards' decisions are Sluice's own meters; Fault Tolerance's duplicates stay off by default
        assertThat(scrape).containsPattern("(?m)^sluice_rejections_total\\{").doesNotContainPattern("(?m)^ft_");
    }
}
