package io.sluice.api.rest;

import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

/** The last route under {@code /v2}: a path no resource has is a 404 with the API's body, not the router's HTML page. */
@ApplicationScoped
public class RestNotFound {

    void register(@Observes Router router) {
        router.route("/v2/*").last().handler(ctx -> ctx.response().setStatusCode(404)
                .putHeader("Content-Type", "application/json")
                .end(new JsonObject().put("error", RestErrors.describe(404, ctx.request())).encode()));
    }
}
