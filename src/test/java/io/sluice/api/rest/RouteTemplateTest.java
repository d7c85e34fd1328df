package io.sluice.api.rest;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link RouteTemplate#of}: a path's template without the root path, however the root path is spelt. */
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
}
