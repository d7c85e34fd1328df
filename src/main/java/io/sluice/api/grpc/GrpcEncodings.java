package io.sluice.api.grpc;

import io.sluice.config.SluiceConfig;
import io.sluice.inference.RequestValidation;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.Locale;

/**
 * Refuses, ahead of Quarkus's gRPC route, a call whose {@code grpc-encoding} that route cannot read, as the gRPC
 * protocol has it: UNIMPLEMENTED, naming the encoding, with {@code grpc-accept-encoding} saying what it reads.
 * The route's grpc-java bridge looks the encoding up in grpc-java's default registry, which holds identity and
 * gzip; with any other (tritonclient's {@code deflate}, say) it neither read a compressed message nor answered, and
 * the call hung until the client's deadline. {@link ModelInferRoute} and {@link ModelStreamRoute} read deflate too and
 * take their calls first; this refuses what comes past them, saying what the method's route reads. A call it lets through to the bridge gets a {@link ConnectionLoss}
 * watch, so that losing its stream cancels it.
 */
@ApplicationScoped
public class GrpcEncodings {
    /** What the bridge reads besides identity. */
    static final String ACCEPTED = "gzip";
    /** What {@link ModelInferRoute} and {@link ModelStreamRoute} read besides identity. */
    private static final String ACCEPTED_DIRECT = "gzip,deflate";

    @Inject
    SluiceConfig config;

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
        boolean direct = config.grpc().directInfer()
                && (ModelInferRoute.PATH.equals(request.path()) || ModelStreamRoute.PATH.equals(request.path()));
        request.response().putHeader("grpc-accept-encoding", direct ? ACCEPTED_DIRECT : ACCEPTED);
        GrpcWire.answerEarly(request, io.grpc.Status.UNIMPLEMENTED.withDescription(GrpcErrors.bounded("grpc-encoding '"
                + RequestValidation.cut(encoding) + "' is not supported on " + request.path() + "; it reads "
                + (direct ? "gzip, deflate" : ACCEPTED) + " and identity")));
    }
}
