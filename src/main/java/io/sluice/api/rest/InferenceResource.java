package io.sluice.api.rest;

import io.quarkus.runtime.configuration.MemorySize;
import io.sluice.api.LargeBodies;
import io.sluice.inference.InferRequest;
import io.sluice.inference.InferenceException;
import io.sluice.inference.InferenceService;
import io.sluice.inference.ModelMetadata;
import io.sluice.inference.Protocol;
import io.sluice.inference.RequestValidation;
import io.sluice.inference.TensorSpec;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import io.vertx.core.Vertx;
import io.vertx.ext.web.RoutingContext;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.function.BiFunction;
import java.util.function.Supplier;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * The Open Inference Protocol REST API. It only translates: HTTP to {@link InferRequest}, the call
 * to {@link InferenceService}, and the result back to HTTP. The body is parsed only once the service
 * has not turned the request away (rate limit, readiness, the model's guard), on the event loop or the
 * thread that answered the rate limit, or, for a body that would hold an event loop up for long (a compressed
 * one that could inflate to much, or one with much JSON), on {@link LargeBodies}; an answer is written on the
 * request's own event loop again, so runtime threads only compute (a refusal may be written from the thread that
 * made it, which Vert.x allows). Every answer sets its own content type and the {@code Accept} header is not
 * read, as Triton does: a client asking for {@code application/octet-stream} (the binary answer's type) or
 * anything else still gets its answer, never a 406.
 */
@Path("/v2")
public class InferenceResource {

    @Inject
    InferenceService service;

    @Inject
    LargeBodies largeBodies;

    /** The most bytes a body may have, after its content coding is undone. */
    @ConfigProperty(name = "quarkus.http.limits.max-body-size", defaultValue = "10240K")
    MemorySize maxBody;

    @GET
    public Response server() {
        // a Map, as every answer here: a record inside a Response is not registered for reflection in a native image
        InferenceService.ServerMetadata m = service.serverMetadata();
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("name", m.name());
        json.put("version", m.version());
        json.put("extensions", m.extensions());
        return json(json);
    }

    @GET
    @Path("/health/live")
    public Response live() {
        boolean live = service.live();
        return Response.status(live ? 200 : 503).type(MediaType.APPLICATION_JSON_TYPE).entity(Map.of("live", live)).build();
    }

    @GET
    @Path("/health/ready")
    public Response ready() {
        boolean ready = service.ready();
        return readiness(ready, Map.of("ready", ready));
    }

    @GET
    @Path("/models/{model}")
    public Response metadata(@PathParam("model") String model) {
        return json(metadataJson(service.modelMetadata(model, null)));
    }

    @GET
    @Path("/models/{model}/versions/{version}")
    public Response metadata(@PathParam("model") String model, @PathParam("version") String version) {
        return json(metadataJson(service.modelMetadata(model, version)));
    }

    @GET
    @Path("/models/{model}/config")
    public Response config(@PathParam("model") String model) {
        return json(ModelConfigJson.of(service.modelConfiguration(model, null)));
    }

    @GET
    @Path("/models/{model}/versions/{version}/config")
    public Response config(@PathParam("model") String model, @PathParam("version") String version) {
        return json(ModelConfigJson.of(service.modelConfiguration(model, version)));
    }

    /**
     * Triton's repository index: every model version served, with its state. The body is empty (tritonclient
     * sends none) or a JSON object whose {@code ready: true} keeps READY versions only.
     */
    @POST
    @Path("/repository/index")
    public Response repositoryIndex(byte[] body, @Context RoutingContext routing) {
        // its body read as an inference request's is: in its Content-Encoding, within the body limit
        byte[] decoded = ContentEncoding.decode(body == null ? new byte[0] : body,
                RestHeaders.list(routing.request(), HttpHeaders.CONTENT_ENCODING), maxBody.asLongValue());
        return json(RepositoryIndexBody.json(service.repositoryIndex(RepositoryIndexBody.readyOnly(decoded))));
    }

    /** Models are not loaded or unloaded at run time: Triton's model control mode "none". */
    @POST
    @Path("/repository/models/{model}/{action: load|unload}")
    public Response loadOrUnload(@PathParam("model") String model, @PathParam("action") String action) {
        throw InferenceService.loadOrUnloadRefused(model, action);
    }

    @GET
    @Path("/models/stats")
    public Response stats() {
        return json(ModelStatsJson.of(service.modelStatistics(null, null)));
    }

    @GET
    @Path("/models/{model}/stats")
    public Response stats(@PathParam("model") String model) {
        return json(ModelStatsJson.of(service.modelStatistics(model, null)));
    }

    @GET
    @Path("/models/{model}/versions/{version}/stats")
    public Response stats(@PathParam("model") String model, @PathParam("version") String version) {
        return json(ModelStatsJson.of(service.modelStatistics(model, version)));
    }

    private static Response json(Object entity) {
        return Response.ok(entity, MediaType.APPLICATION_JSON_TYPE).build();
    }

    @GET
    @Path("/models/{model}/ready")
    public Response modelReady(@PathParam("model") String model) {
        boolean ready = service.modelReady(model, null);
        return readiness(ready, Map.of("name", model, "ready", ready));
    }

    @GET
    @Path("/models/{model}/versions/{version}/ready")
    public Response modelReady(@PathParam("model") String model, @PathParam("version") String version) {
        boolean ready = service.modelReady(model, version);
        return readiness(ready, Map.of("name", model, "ready", ready));
    }

    @POST
    @Path("/models/{model}/infer")
    public Uni<Response> infer(@PathParam("model") String model, byte[] body, @Context RoutingContext routing) {
        return infer(model, null, body, routing);
    }

    @POST
    @Path("/models/{model}/versions/{version}/infer")
    public Uni<Response> infer(@PathParam("model") String model, @PathParam("version") String version, byte[] body,
            @Context RoutingContext routing) {
        io.vertx.core.http.HttpServerRequest http = routing.request();
        String headerLength = RestHeaders.one(http, RestHeaders.HEADER_LENGTH);
        String timeout = RestHeaders.one(http, RestHeaders.TIMEOUT);
        String priority = RestHeaders.one(http, RestHeaders.PRIORITY);
        String encoding = RestHeaders.list(http, HttpHeaders.CONTENT_ENCODING);
        long deadline = timeout == null ? InferRequest.NO_DEADLINE
                : InferRequest.deadlineAfterMicros(System.nanoTime(), headerNumber(RestHeaders.TIMEOUT, timeout));
        int level = priority == null ? 0 : (int) Math.min(Integer.MAX_VALUE, headerNumber(RestHeaders.PRIORITY, priority));
        Integer jsonLength = headerLength == null ? null : jsonLength(headerLength);
        // a raw request reads its input's shape from the metadata of the version that will run it: one without
        // a version is held to the default version now, which a version turning READY later cannot change
        String runs = version == null && jsonLength != null && jsonLength == 0 ? defaultVersion(model) : version;
        // parsed only once the rate limit and the model's admission let the request in: a rejection reads no JSON
        RestInferRequests.Parsed[] parsed = new RestInferRequests.Parsed[1];
        Supplier<InferRequest> parse = () -> {
            if (deadline != InferRequest.NO_DEADLINE && deadline - System.nanoTime() <= 0) { // not worth reading now
                throw new InferenceException.DeadlineExceeded("deadline passed before the request body was read");
            }
            return (parsed[0] = RestInferRequests.parse(model, runs,
                    ContentEncoding.decode(body == null ? new byte[0] : body, encoding, maxBody.asLongValue()), jsonLength,
                    () -> service.modelMetadata(model, runs), deadline, level)).request();
        };
        io.vertx.core.Context context = Vertx.currentContext();
        Executor readOn = LargeBodies.large(body == null ? 0 : body.length, jsonLength, ContentEncoding.coded(encoding))
                ? largeBodies.executor() : null;
        return service.infer(RestAuthentication.tenant(routing), model, runs, Protocol.REST, parse, readOn, deadline,
                response -> written(response, parsed[0], context));
    }

    /** The answer to {@code response}, written on {@code context} (the request's own), or on a worker when long. */
    private Uni<Response> written(io.sluice.inference.InferResponse response, RestInferRequests.Parsed parsed,
            io.vertx.core.Context context) {
        Uni<io.sluice.inference.InferResponse> here = Uni.createFrom().item(response);
        if (context != null) {
            here = here.emitOn(task -> context.runOnContext(v -> task.run()));
        }
        return here.onItem().transformToUni(r -> RestInferResponses.largeText(r, parsed)
                // seconds of text on the event loop would hold up every other request on it: a worker writes it
                ? Uni.createFrom().item(() -> answer(r, parsed, RestInferResponses::write))
                        .runSubscriptionOn(Infrastructure.getDefaultWorkerPool())
                : Uni.createFrom().item(answer(r, parsed, RestInferResponses::write)));
    }

    /**
     * The HTTP answer of {@code response}, as {@code write} writes it.
     *
     * @throws InferenceException.Unavailable (503 with {@code Retry-After}, counted as such) when there is no memory
     *     to write it now (large JSON answers, written at once), rather than the HTTP server's own 500
     */
    static Response answer(io.sluice.inference.InferResponse response, RestInferRequests.Parsed parsed,
            BiFunction<io.sluice.inference.InferResponse, RestInferRequests.Parsed, RestInferResponses.Written> write) {
        RestInferResponses.Written written;
        try {
            written = write.apply(response, parsed);
        } catch (OutOfMemoryError e) {
            throw new InferenceException.Unavailable(InferenceException.Unavailable.Reason.NO_MEMORY,
                    "the server has no memory to write this answer now (" + RestInferResponses.textElements(response,
                    parsed) + " elements as JSON text): retry, or ask for binary outputs (parameter binary_data_output)",
                    Duration.ofSeconds(1));
        }
        Response.ResponseBuilder ok = Response.ok(written.body());
        if (response.cache().label() != null) {
            ok.header(RestHeaders.CACHE, response.cache().label());
        }
        if (response.rateLimit() != null) {
            RestHeaders.rateLimit(ok, response.rateLimit());
        }
        if (written.headerLength() >= 0) {
            ok.header(RestHeaders.HEADER_LENGTH, written.headerLength()).type(MediaType.APPLICATION_OCTET_STREAM);
        } else {
            ok.type(MediaType.APPLICATION_JSON);
        }
        return ok.build();
    }

    /**
     * The JSON header's length an {@code Inference-Header-Content-Length} value gives; one past what an array holds is
     * refused here, naming the value as sent, since no body is that long.
     */
    private static int jsonLength(String value) {
        long length = headerNumber(RestHeaders.HEADER_LENGTH, value);
        if (length > Integer.MAX_VALUE) {
            throw new InferenceException.InvalidInput("header " + RestHeaders.HEADER_LENGTH + " " + RequestValidation.cut(
                    value.trim()) + " is longer than any request body can be");
        }
        return (int) length;
    }

    /**
     * A header's non-negative integer, read as the OIP's uint64 parameters are: up to 2^64 - 1, where one past what a
     * long holds reads as {@link Long#MAX_VALUE} (a timeout that long is none, a priority that high a level the model
     * lacks, a header length that long more than the body).
     */
    private static long headerNumber(String header, String value) {
        String text = value.trim();
        try {
            long n = Long.parseLong(text);
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException pastALong) {
            try {
                Long.parseUnsignedLong(text); // 2^63 to 2^64 - 1
                return Long.MAX_VALUE;
            } catch (NumberFormatException notOne) {
                // refused below
            }
        }
        throw new InferenceException.InvalidInput("header " + header + " must be a non-negative integer up to 2^64 - 1,"
                + " was '" + RequestValidation.cut(value) + "'");
    }

    /**
     * OIP readiness: 200 means true, a 4xx means false; like Triton, Sluice answers 400. The body is the OIP's
     * ({@code {"ready": ...}}, with the model's {@code name} for a model), which KServe's REST client reads; Triton's
     * clients read the status alone.
     */
    private static Response readiness(boolean ready, Map<String, Object> body) {
        return Response.status(ready ? Response.Status.OK : Response.Status.BAD_REQUEST)
                .type(MediaType.APPLICATION_JSON_TYPE).entity(body).build();
    }

    /** The version a request without one runs on now, or null (the failure then comes from the request itself). */
    private String defaultVersion(String model) {
        try {
            return service.modelMetadata(model, null).version();
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static Map<String, Object> metadataJson(ModelMetadata m) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("name", m.name());
        json.put("versions", m.versions());
        json.put("platform", m.platform());
        json.put("inputs", tensors(m.inputs()));
        json.put("outputs", tensors(m.outputs()));
        json.put("parameters", Map.of("version", m.version(), "execution_provider", m.provider()));
        return json;
    }

    private static List<Map<String, Object>> tensors(List<TensorSpec> specs) {
        return specs.stream()
                .map(s -> Map.<String, Object>of("name", s.name(), "datatype", s.datatype().name(), "shape", s.shape()))
                .toList();
    }
}
