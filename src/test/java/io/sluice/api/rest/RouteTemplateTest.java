package io.sluice.api.rest;

import static org.assertj.core.api.Assertions.assertThat;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import java.lang.reflect.Method;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@link RouteTemplate#of}: a path's template without the root path, however the root path is spelt; {@link
 * RouteTemplate#allow}: the methods the resource takes on it.
 */
class RouteTemplateTest {

    @Test
    void theRootPathIsReadAsQuarkusReadsItWhateverItsSlashes() {
        for (String root : List.of("api", "/api", "api/", "/api/")) {
            assertThat(RouteTemplate.of("/api/v2/models/m1/infer", root)).as(root).isEqualTo("/v2/models/{model}/infer");
            assertThat(RouteTemplate.of("/api/v2/models/m1/versions/3/ready", root)).as(root)
                    .isEqualTo("/v2/models/{model}/versions/{version}/ready");
            assertThat(RouteTemplate.of("/v2/models/m1/infer", root)).as(root).isEqualTo(RouteTemplate.UNMATCHED);
            assertThat(RouteTemplate.of("/apiv2/models/m1/infer", root)).as(root).isEqualTo(RouteTemplate.UNMATCHED);
        }
        for (String root : List.of("/", "")) {
            assertThat(RouteTemplate.of("/v2/repository/models/m1/unload", root)).as(root)
                    .isEqualTo("/v2/repository/models/{model}/{action: load|unload}");
            assertThat(RouteTemplate.of("/v2/models/m1/infer/more", root)).as(root).isEqualTo(RouteTemplate.UNMATCHED);
        }
        assertThat(RouteTemplate.of(null, "/")).isEqualTo(RouteTemplate.UNMATCHED);
    }

    @Test
    void aTrailingSlashIsTheRoutesOwnAsTheRestLayerServesIt() {
        assertThat(RouteTemplate.of("/v2/models/m1/", "/")).isEqualTo("/v2/models/{model}");
        assertThat(RouteTemplate.of("/v2/", "/")).isEqualTo("/v2");
        assertThat(RouteTemplate.of("/api/v2/models/m1/infer/", "/api")).isEqualTo("/v2/models/{model}/infer");
        assertThat(RouteTemplate.of("/", "/")).isEqualTo(RouteTemplate.UNMATCHED);
        assertThat(RouteTemplate.of("/api/", "/api")).isEqualTo(RouteTemplate.UNMATCHED);
    }

    @Test
    void everyTemplateAllowsTheMethodTheResourceTakesOnIt() {
        String root = InferenceResource.class.getAnnotation(Path.class).value();
        Map<String, String> methods = new HashMap<>();
        for (Method method : InferenceResource.class.getDeclaredMethods()) {
            Path path = method.getAnnotation(Path.class);
            String verb = method.isAnnotationPresent(GET.class) ? "GET" : method.isAnnotationPresent(POST.class) ? "POST"
                    : null;
            if (verb != null) {
                String previous = methods.put(path == null ? root : root + path.value(), verb);
                assertThat(previous).as("one method a path").isIn(null, verb);
            }
        }
        assertThat(methods.keySet()).containsExactlyInAnyOrderElementsOf(RouteTemplate.templates());
        methods.forEach((template, verb) -> assertThat(RouteTemplate.allow(template)).as(template)
                .isEqualTo(verb.equals("GET") ? "GET, HEAD, OPTIONS" : "OPTIONS, POST"));
    }
}
