package io.sluice.api.rest;

import grpc.health.v1.HealthGrpc;
import io.grpc.MethodDescriptor;
import io.grpc.ServiceDescriptor;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.config.MeterFilter;
import io.sluice.api.grpc.proto.GRPCInferenceServiceGrpc;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Keeps what a client chooses out of the tags of Quarkus's HTTP server meters ({@code http_server_requests} and the
 * other {@code http.server.*} meters). Quarkus tags an answer with the REST layer's route template when a resource
 * method matched, and otherwise with the raw path for every status but 404 and 3xx: an {@code OPTIONS} or a 405
 * under {@code /v2}, a 400 that Vert.x gives before routing (a bad escape, a missing {@code Host}), a request its
 * client aborted, and any gRPC call to a method this server lacks (answered 200 with {@code grpc-status}
 * UNIMPLEMENTED) would each make a series, none of them needing a key. Its {@code method} tag takes any token. Here
 * a {@code uri} that is none of the API's templates, the served gRPC methods, the health and metrics endpoints,
 * the replacements of {@code quarkus.micrometer.binder.http-server.match-patterns} or Quarkus's own labels becomes
 * {@link RouteTemplate#UNMATCHED}, and a method outside HTTP's standard ones becomes {@code OTHER}. Real routes never
 * reach this filter after their first request: Micrometer keeps the meter of an id it has seen before filtering.
 */
@Singleton
public class HttpMeterTags {

    /** The labels Quarkus gives in place of a path: {@code /}, a 404, a 3xx, a CORS preflight, and none known. */
    private static final List<String> QUARKUS_LABELS = List.of("root", "NOT_FOUND", "REDIRECTION", "UNKNOWN",
            "/cors-preflight");

    private static final Set<String> METHODS = Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH",
            "TRACE", "CONNECT");

    @Produces
    @Singleton
    MeterFilter httpServerTags(@ConfigProperty(name = "quarkus.http.root-path", defaultValue = "/") String rootPath,
            @ConfigProperty(name = "quarkus.http.non-application-root-path", defaultValue = "q") String nonApplication,
            @ConfigProperty(name = "quarkus.smallrye-health.root-path", defaultValue = "health") String health,
            @ConfigProperty(name = "quarkus.micrometer.export.prometheus.path", defaultValue = "metrics") String metrics,
            @ConfigProperty(name = "quarkus.smallrye-health.liveness-path", defaultValue = "live") String live,
            @ConfigProperty(name = "quarkus.smallrye-health.readiness-path", defaultValue = "ready") String ready,
            @ConfigProperty(name = "quarkus.smallrye-health.startup-path", defaultValue = "started") String started,
            @ConfigProperty(name = "quarkus.smallrye-health.wellness-path", defaultValue = "well") String well,
            @ConfigProperty(name = "quarkus.smallrye-health.group-path", defaultValue = "group") String group,
            @ConfigProperty(name = "quarkus.micrometer.binder.http-server.match-patterns") Optional<List<String>> patterns,
            @ConfigProperty(name = "quarkus.micrometer.binder.vertx.match-patterns") Optional<List<String>> oldPatterns) {
        Set<String> known = new HashSet<>(knownUris());
        String healthRoot = RestAuthentication.endpointPath(rootPath, nonApplication, health);
        known.add(healthRoot);
        for (String sub : List.of(live, ready, started, well, group)) { // a health group's own name stays unknown
            known.add(sub.startsWith("/") ? sub : healthRoot + "/" + sub);
        }
        known.add(RestAuthentication.endpointPath(rootPath, nonApplication, metrics));
        // "regex=replacement", split at the first '=' and trimmed as Quarkus does; the old key when the new is unset
        for (String pattern : patterns.or(() -> oldPatterns).orElse(List.of())) {
            int equals = pattern.indexOf('=');
            if (equals > 0) {
                known.add(pattern.substring(equals + 1).trim());
            }
        }
        return filter(Set.copyOf(known));
    }

    /** The filter that keeps the {@code uri} values in {@code known}. */
    static MeterFilter filter(Set<String> known) {
        return new MeterFilter() {
            @Override
            public Meter.Id map(Meter.Id id) {
                if (!id.getName().startsWith("http.server.")) {
                    return id;
                }
                List<Tag> tags = new ArrayList<>();
                boolean changed = false;
                for (Tag tag : id.getTagsAsIterable()) {
                    String kept = switch (tag.getKey()) {
                        case "uri" -> known.contains(tag.getValue()) ? tag.getValue() : RouteTemplate.UNMATCHED;
                        case "method" -> METHODS.contains(tag.getValue()) ? tag.getValue() : "OTHER";
                        default -> tag.getValue();
                    };
                    changed |= !kept.equals(tag.getValue());
                    tags.add(Tag.of(tag.getKey(), kept));
                }
                return changed ? id.replaceTags(tags) : id;
            }
        };
    }

    /**
     * The {@code uri} values every configuration keeps: the API's templates (the REST layer's carry no root path),
     * Quarkus's labels, and the served gRPC methods, which are at the server's root whatever the root path.
     */
    static Set<String> knownUris() {
        Set<String> known = new HashSet<>(RouteTemplate.templates());
        known.addAll(QUARKUS_LABELS);
        known.add(RouteTemplate.UNMATCHED);
        for (ServiceDescriptor service : List.of(GRPCInferenceServiceGrpc.getServiceDescriptor(),
                HealthGrpc.getServiceDescriptor())) {
            for (MethodDescriptor<?, ?> method : service.getMethods()) {
                known.add("/" + method.getFullMethodName());
            }
        }
        return Set.copyOf(known);
    }
}
