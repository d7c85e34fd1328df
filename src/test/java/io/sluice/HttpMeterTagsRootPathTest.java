package io.sluice;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.RestAssured;
import io.sluice.admission.Tenants;
import io.sluice.fixtures.TinyModels;
import jakarta.inject.Inject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * Under {@code quarkus.http.root-path}, an inference route counts under one {@code uri}, the REST layer's template
 * (which carries no root path), whether the REST layer answered it or authentication turned it away before
 * routing; and the meter filter does not take that template for a made-up path.
 */
@QuarkusTest
@TestProfile(HttpMeterTagsRootPathTest.Profile.class)
class HttpMeterTagsRootPathTest {
    private static final String KEY = "root-path-key";
    private static final String INFER = "/v2/models/{model}/infer";

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Path repo = TinyModels.newRepository("sluice-root-path");
            TinyModels.write(repo, "matmul", 1, TinyModels.matmul());
            return Map.of(
                    "sluice.repository.paths", repo.toString(),
                    "quarkus.http.root-path", "/api",
                    "sluice.auth.enabled", "true",
                    "sluice.tenants.api.api-key-sha256", Tenants.sha256(KEY));
        }
    }

    @Inject
    MeterRegistry registry;

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @Test
    void anAnsweredAndAnUnauthenticatedRequestOfOneRouteShareItsTemplate() throws Exception {
        Awaitility.await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(50))
                .until(() -> send("GET", "/api/v2/health/ready", null).statusCode() == 200);
        String body = "{\"inputs\":[{\"name\":\"X\",\"datatype\":\"FP32\",\"shape\":[1,3],\"data\":[1,1,1]}]}";
        assertThat(send("POST", "/api/v2/models/matmul/infer", null, body).statusCode()).isEqualTo(401);
        assertThat(send("POST", "/api/v2/models/matmul/infer", KEY, body).statusCode()).isEqualTo(200);

        // each meter is recorded as its answer ends on the server, maybe after the client has read it
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> count("401") == 1 && count("200") == 1);
        assertThat(registry.find("http.server.requests").meters()).extracting(m -> m.getId().getTag("uri"))
                .noneMatch(uri -> uri.startsWith("/api/"));
    }

    /** Requests to the inference route with {@code status}, as the meters tag them. */
    private long count(String status) {
        Timer timer = registry.find("http.server.requests").tag("uri", INFER).tag("status", status).timer();
        return timer == null ? 0 : timer.count();
    }

    private HttpResponse<String> send(String method, String path, String key) throws Exception {
        return send(method, path, key, null);
    }

    private HttpResponse<String> send(String method, String path, String key, String json) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + RestAssured.port + path))
                .timeout(Duration.ofSeconds(30))
                .method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
        if (json != null) {
            request.header("Content-Type", "application/json");
        }
        if (key != null) {
            request.header("X-API-Key", key);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }
}
