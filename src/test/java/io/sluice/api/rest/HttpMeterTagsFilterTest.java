package io.sluice.api.rest;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.config.MeterFilter;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The values {@link HttpMeterTags} keeps, from the configuration: with the management endpoints at the HTTP root,
 * where Quarkus counts them, and match patterns written as Quarkus reads them.
 */
class HttpMeterTagsFilterTest {

    private static final MeterFilter FILTER = new HttpMeterTags().httpServerTags("/", "/", "health", "metrics",
            "live", "ready", "started", "well", "group",
            Optional.of(List.of("/item/[0-9]+ = /item/{id}", "/x/[0-9]+=/x/{n}=v")), Optional.empty());

    @Test
    void keepsTheApiTheManagementEndpointsAndTheMatchPatternsReplacements() {
        for (String uri : List.of("/v2/models/{model}/infer", "/v2/repository/models/{model}/{action: load|unload}",
                "/inference.GRPCInferenceService/ModelInfer", "/grpc.health.v1.Health/Check", "/health",
                "/health/live", "/health/ready", "/health/started", "/health/well", "/health/group", "/metrics",
                "/item/{id}", "/x/{n}=v", "NOT_FOUND", "root", "/cors-preflight")) {
            assertThat(uri(uri)).as(uri).isEqualTo(uri);
        }
    }

    @Test
    void turnsAnythingElseIntoUnmatchedAndOther() {
        for (String uri : List.of("/v2/models/made-up/infer", "/health/group/made-up", "/q/health", "/made.Up/Method",
                "/item/12")) {
            assertThat(uri(uri)).as(uri).isEqualTo(RouteTemplate.UNMATCHED);
        }
        Meter.Id odd = id("http.server.requests", "/v2", "MADEUP");
        assertThat(FILTER.map(odd).getTag("method")).isEqualTo("OTHER");
        assertThat(FILTER.map(odd).getTag("uri")).isEqualTo("/v2");
        Meter.Id other = id("sluice.requests", "/made-up", "MADEUP"); // not an HTTP server meter: left alone
        assertThat(FILTER.map(other)).isSameAs(other);
    }

    @Test
    void aRequestsMeterMeetsTheFilterOnlyWhenItIsFirstMade() {
        // the claim that keeps the filter off the request path: Micrometer maps an id once, then finds its meter
        java.util.concurrent.atomic.AtomicInteger maps = new java.util.concurrent.atomic.AtomicInteger();
        MeterFilter counted = new MeterFilter() {
            @Override
            public Meter.Id map(Meter.Id id) {
                maps.incrementAndGet();
                return FILTER.map(id);
            }
        };
        var global = new io.micrometer.core.instrument.composite.CompositeMeterRegistry();
        var child = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        global.config().meterFilter(counted);
        child.config().meterFilter(counted);
        global.add(child);
        for (int i = 0; i < 1000; i++) { // as Quarkus records each answer: a builder registered again every time
            io.micrometer.core.instrument.Timer.builder("http.server.requests")
                    .tags("method", "POST", "uri", "/inference.GRPCInferenceService/ModelInfer", "status", "200")
                    .register(global).record(java.time.Duration.ofNanos(1000));
        }
        assertThat(maps.get()).isEqualTo(2); // once in the composite, once in its child
        assertThat(child.get("http.server.requests").timer().count()).isEqualTo(1000);
    }

    private static String uri(String uri) {
        return FILTER.map(id("http.server.requests", uri, "GET")).getTag("uri");
    }

    private static Meter.Id id(String name, String uri, String method) {
        return new Meter.Id(name, Tags.of("uri", uri, "method", method, "status", "200"), null, null, Meter.Type.TIMER);
    }
}
