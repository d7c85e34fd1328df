package io.sluice.api.grpc;

import io.sluice.inference.RequestValidation;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.util.Locale;

/**
 * Refuses, ahead of Quarkus's gRPC route, a call whose {@code grpc-encoding} that route cannot read, as the gRPC
 * protocol has it: UNIMPLEMENTED, naming the encoding, with {@code grpc-accept-encoding} saying what it reads.
 * The route's grpc-java bridge looks the encoding up in grpc-java's default registry, which holds identity and
 * gzip; with any other (tritonclient's {@code deflate} on a stream, say) it neither read a compressed message nor
 * answered, and the call hung until the client's deadline. {@link ModelInferRoute} reads deflate itself and takes
 * its calls first; this refuses what comes past it. A call it lets through to the bridge gets a {@link ConnectionLoss}
 * watch, so that losing its stream cancels it.
 */
@ApplicationScoped
public class GrpcEncodings {
    /** What the bridge reads besides identity. */
    static final String ACCEPTED = "gzip";

    void register(@Observes Router router) {
        router.route().order(-99).handler(this::handle); // after ModelInferRoute (-100), before Quarkus's gRPC route
    }

    void handle(RoutingContext ctx) {
        HttpServerRequest request = ctx.request();
        String encoding = request.getHeader("grpc-encoding");
        // as Quarkus's gRPC route recognises a call: its content type in any case
        String contentType = request.getHeader("content-type");
        boolean grpc = contentType != null && contentType.toLowerCase(Locale.ROOT).startsWith("application/grpc");
        if (encoding == null || encoding.equals("identity") || encoding.equals(ACCEPTED) || !grpc) {
            if (grpc) {
                ConnectionLoss.watch(request.response()); // the bridge cancels a call only for some resets
            }
            ctx.next();
            return;
        }
        request.response().putHeader("grpc-accept-encoding", ACCEPTED);
        GrpcWire.answerEarly(request, io.grpc.Status.UNIMPLEMENTED.withDescription(GrpcErrors.bounded("grpc-encoding '"
                + RequestValidation.cut(encoding) + "' is not supported on " + request.path() + "; it reads " + ACCEPTED
                + " and identity")));
    }
}
