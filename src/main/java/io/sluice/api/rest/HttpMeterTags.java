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
import java.util.Set;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Keeps what a client chooses out of the tags of Quarkus's HTTP server meters ({@code http_server_requests} and the
 * other {@code http.server.*} meters). Quarkus tags an answer with the REST layer's route template when a resource
 * method matched, and otherwise with the raw path for every status but 404 and 3xx: an {@code OPTIONS} or a 405
 * under {@code /v2}, a 400 that Vert.x gives before routing (a bad escape, a missing {@code Host}), a request its
 * client aborted, and any gRPC call to a method this server lacks (answered 200 with {@code grpc-status}
 * UNIMPLEMENTED) would each make a series, none of them needing a key. Its {@code method} tag takes any token. Here
 * a {@code uri} that is none of the API's templates, the served gRPC methods or Quarkus's own labels becomes
 * {@link RouteTemplate#UNMATCHED}, and a method outside HTTP's standard ones becomes {@code OTHER}.
 */
@Singleton
public class HttpMeterTags {

    /** The labels Quarkus gives in place of a path: {@code /}, a 404, a 3xx, and none known. */
    private static final List<String> QUARKUS_LABELS = List.of("root", "NOT_FOUND", "REDIRECTION", "UNKNOWN");

    private static final Set<String> METHODS = Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH",
            "TRACE", "CONNECT");

    @Produces
    @Singleton
    MeterFilter httpServerTags(@ConfigProperty(name = "quarkus.http.root-path", defaultValue = "/") String rootPath) {
        return filter(rootPath);
    }

    /** The filter for an API under {@code rootPath}. */
    static MeterFilter filter(String rootPath) {
        Set<String> known = knownUris(rootPath);
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

    /** Every {@code uri} tag value a request may keep. gRPC methods are served at the server's root, not under the API's. */
    static Set<String> knownUris(String rootPath) {
        Set<String> known = new HashSet<>(RouteTemplate.templates(rootPath));
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
