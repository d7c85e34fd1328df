package io.sluice.admission;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.sluice.Await;
import io.sluice.GrpcClients;
import io.sluice.RedisResource;
import io.sluice.api.grpc.proto.GRPCInferenceServiceGrpc;
import io.sluice.api.grpc.proto.InferTensorContents;
import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.api.grpc.proto.ModelMetadataRequest;
import io.sluice.api.grpc.proto.ServerReadyRequest;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Redis;
import io.vertx.mutiny.redis.client.Request;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** API keys and tenant buckets (shared in a real Redis) over REST and gRPC: 401 and 429 with their headers. */
@QuarkusTest
@TestProfile(RateLimitProfile.class)
class RateLimitTest {

    private ManagedChannel channel;
    /** A client of the test's redis-server of its own (an integration test cannot inject the server's). */
    private Vertx vertx;
    private Redis redis;

    @BeforeEach
    void open() {
        Await.serverReady();
        channel = GrpcClients.channel();
        vertx = Vertx.vertx();
        redis = Redis.createClient(vertx, RedisResource.redis().uri());
    }

    @AfterEach
    void close() {
        channel.shutdownNow();
        redis.close();
        vertx.closeAndAwait();
    }

    static Response infer(String model, String header, String value) {
        var request = given().contentType(ContentType.JSON).body(Map.of("inputs", List.of(Map.of(
                "name", "INPUT0", "datatype", model.equals("identity_fp32") ? "FP32" : "INT32",
                "shape", List.of(1, 4), "data", List.of(1, 2, 3, 4)))));
        if (header != null) {
            request.header(header, value);
        }
        return request.post("/v2/models/" + model + "/infer");
    }

    @Test
    void restNeedsAKnownKeyButHealthAndMetricsDoNot() {
        infer("identity_int32", null, null).then().statusCode(401)
                .header("WWW-Authenticate", "Bearer")
                .body("error", containsString("an API key is required"));
        infer("identity_int32", "Authorization", "Bearer not-a-key").then().statusCode(401)
                .body("error", containsString("unknown API key"));
        infer("identity_int32", "X-API-Key", "not-a-key").then().statusCode(401);
        given().get("/v2/models/identity_int32").then().statusCode(401);
        given().get("/v2").then().statusCode(401);
        // management endpoints follow sluice.auth.management, off here
        given().get("/v2/health/ready").then().statusCode(200);
        given().get("/q/health/ready").then().statusCode(200);
        given().get("/q/metrics").then().statusCode(200);
    }

    @Test
    void keylessRequestsAreTaggedByRouteNotByTheirPath() {
        // a scanner's paths must not each become an http_server_requests series (Quarkus tags a 401 given before
        // routing with its raw path, and past its uri-tag cap drops real routes' new series)
        infer("scan-model-1", null, null).then().statusCode(401);
        given().get("/v2/models/scan-model-2/versions/7/ready").then().statusCode(401);
        given().get("/scan-path-3").then().statusCode(401);
        String scrape = given().header("X-API-Key", RateLimitProfile.REST_KEY).get("/q/metrics").asString();
        assertThat(scrape).doesNotContain("scan-model-1").doesNotContain("scan-model-2").doesNotContain("scan-path-3");
        assertThat(scrape).containsPattern("http_server_requests_seconds_count\\{[^}]*status=\"401\"[^}]*"
                + "uri=\"/v2/models/\\{model}/infer\"")
                .containsPattern("http_server_requests_seconds_count\\{[^}]*status=\"401\"[^}]*"
                        + "uri=\"/v2/models/\\{model}/versions/\\{version}/ready\"")
                .containsPattern("http_server_requests_seconds_count\\{[^}]*status=\"401\"[^}]*uri=\"/UNMATCHED\"");
    }

    @Test
    void grpcHealthNeedsNoKeyButTheApiDoes() {
        // a Kubernetes gRPC probe calls grpc.health.v1.Health/Check without a key
        // (its messages written by hand: HealthCheckRequest{} is empty, HealthCheckResponse{status: SERVING} is 08 01)
        io.grpc.MethodDescriptor.Marshaller<byte[]> bytes = new io.grpc.MethodDescriptor.Marshaller<>() {
            @Override
            public java.io.InputStream stream(byte[] value) {
                return new java.io.ByteArrayInputStream(value);
            }

            @Override
            public byte[] parse(java.io.InputStream stream) {
                try {
                    return stream.readAllBytes();
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        };
        var check = io.grpc.MethodDescriptor.newBuilder(bytes, bytes).setType(io.grpc.MethodDescriptor.MethodType.UNARY)
                .setFullMethodName("grpc.health.v1.Health/Check").build();
        assertThat(io.grpc.stub.ClientCalls.blockingUnaryCall(channel, check, io.grpc.CallOptions.DEFAULT, new byte[0]))
                .containsExactly(0x08, 0x01);
        var api = io.sluice.api.grpc.proto.GRPCInferenceServiceGrpc.newBlockingStub(channel);
        assertThat(api.serverLive(io.sluice.api.grpc.proto.ServerLiveRequest.getDefaultInstance()).getLive()).isTrue();
        assertThat(api.serverReady(io.sluice.api.grpc.proto.ServerReadyRequest.getDefaultInstance()).getReady()).isTrue();
        assertThatThrownBy(() -> api.modelMetadata(io.sluice.api.grpc.proto.ModelMetadataRequest.newBuilder()
                        .setName("identity_int32").build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(io.grpc.Status.Code.UNAUTHENTICATED));
    }

    @Test
    void aGrpcContentTypeDoesNotOpenTheRestApiWithoutAKey() {
        // only gRPC's own paths are left to the gRPC authentication; the REST API asks for a key whatever the body
        given().header("Content-Type", "application/grpc").get("/v2/models/identity_int32").then().statusCode(401);
        given().header("Content-Type", "application/grpc").get("/v2").then().statusCode(401);
        given().contentType("application/grpc+proto").body("{}".getBytes(java.nio.charset.StandardCharsets.UTF_8))
                .post("/v2/models/identity_int32/infer").then().statusCode(401);
    }

    @Test
    void aTenantOverItsBucketGets429WithRetryAfterAndRateLimitHeaders() {
        // a 200 reports the bucket too: one of two tokens left, full again in 100 s at 0.01 tokens/s
        infer("identity_int32", "Authorization", "Bearer " + RateLimitProfile.REST_KEY).then().statusCode(200)
                .header("RateLimit-Policy", "\"rest\";q=2;w=200")
                .header("RateLimit", "\"rest\";r=1;t=100");
        // the tenant's one bucket covers all its models, and either key header
        infer("identity_fp32", "X-API-Key", RateLimitProfile.REST_KEY).then().statusCode(200);
        Response limited = infer("identity_int32", "Authorization", "Bearer " + RateLimitProfile.REST_KEY);
        limited.then().statusCode(429)
                .header("RateLimit-Policy", "\"rest\";q=2;w=200")
                .body("error", containsString("tenant 'rest' is over its rate limit"));
        // 0.01 tokens/s: the next token in 100 s, less the (few) seconds this test has taken so far
        long retryAfter = Long.parseLong(limited.header("Retry-After"));
        assertThat(retryAfter).isBetween(90L, 100L);
        assertThat(limited.header("RateLimit")).isEqualTo("\"rest\";r=0;t=" + retryAfter);
        // decided before the body is read: one that is not even JSON gets the 429, not a 400
        given().contentType(ContentType.JSON).header("X-API-Key", RateLimitProfile.REST_KEY).body("{not json")
                .post("/v2/models/identity_int32/infer").then().statusCode(429)
                .body("error", containsString("tenant 'rest' is over its rate limit"));
    }

    @Test
    void aRequestItsModelCannotServeGivesItsTokenBack() {
        redis.send(Request.cmd(Command.DEL).arg("sluice:rl:refunded")).await().atMost(Duration.ofSeconds(5));
        // 'corrupt' failed to load: each request takes the tenant's one token, gets 503, and gives the token back
        for (int i = 0; i < 3; i++) {
            infer("corrupt", "X-API-Key", RateLimitProfile.REFUNDED_KEY).then().statusCode(503)
                    .header("Retry-After", "5");
            // the refund is sent without holding up the 503; once it lands the bucket holds its one token again
            await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> tokensInRedis("refunded") == 1.0);
        }
        // so the tenant's calls to a model that serves still have their quota
        infer("identity_int32", "X-API-Key", RateLimitProfile.REFUNDED_KEY).then().statusCode(200)
                .header("RateLimit", "\"refunded\";r=0;t=100");
        // a request that was served keeps its token
        infer("identity_int32", "X-API-Key", RateLimitProfile.REFUNDED_KEY).then().statusCode(429);
    }

    @Test
    void theCachesOwnRedisClientWritesL2BesideTheBuckets() {
        // both named clients connect, each under its own name (this runs against the packaged artifact too)
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(redis.send(Request.cmd(Command.CLIENT)
                .arg("LIST")).await().atMost(Duration.ofSeconds(5)).toString())
                .contains("name=sluice-buckets", "name=sluice-cache"));
        java.util.Set<String> before = cacheKeys();
        int unique = (int) (System.nanoTime() & 0x3fffffff); // an input no other test sends: a new entry
        given().contentType(ContentType.JSON).header("X-API-Key", RateLimitProfile.OPEN_KEY)
                .body(Map.of("inputs", List.of(Map.of("name", "INPUT0", "datatype", "INT32", "shape", List.of(1, 4),
                        "data", List.of(unique, 1, 2, 3)))))
                .post("/v2/models/identity_int32/infer").then().statusCode(200);
        // min-uses 1 in this profile: stored after its answer, in L2, which only the cache's client writes (the
        // unnamed client is off and the buckets' client writes sluice:rl:* alone)
        await().atMost(Duration.ofSeconds(30)).until(() -> !before.containsAll(cacheKeys()));
    }

    private java.util.Set<String> cacheKeys() {
        java.util.Set<String> keys = new java.util.HashSet<>();
        redis.send(Request.cmd(Command.KEYS).arg("sluice:cache:*")).await().atMost(Duration.ofSeconds(5))
                .forEach(key -> keys.add(key.toString()));
        return keys;
    }

    private double tokensInRedis(String policy) {
        return Double.parseDouble(redis.send(Request.cmd(Command.HGET).arg("sluice:rl:" + policy).arg("t")).await()
                .atMost(Duration.ofSeconds(5)).toString());
    }

    @Test
    void aPerModelBucketLimitsOnlyThatModel() {
        infer("identity_fp32", "X-API-Key", RateLimitProfile.MODEL_KEY).then().statusCode(200);
        infer("identity_fp32", "X-API-Key", RateLimitProfile.MODEL_KEY).then().statusCode(429)
                .header("RateLimit-Policy", "\"per-model/identity_fp32\";q=1;w=100");
        for (int i = 0; i < 3; i++) { // no bucket for its other models, and no default bucket
            infer("identity_int32", "X-API-Key", RateLimitProfile.MODEL_KEY).then().statusCode(200);
        }
    }

    @Test
    void eachTenantsRequestsAreCountedByModelAndOutcome() {
        String scrape = given().get("/q/metrics").asString();
        // every tenant's successes and rate-limited requests of every model are there from the start
        for (String tenant : List.of("rest", "grpc", "per-model", "outage", "open", "other-open", "one-token", "counted")) {
            for (String outcome : List.of("success", "rate_limited")) {
                assertThat(scrape).containsPattern("(?m)^sluice_tenant_requests_total\\{model=\"identity_int16\","
                        + "outcome=\"" + outcome + "\",tenant=\"" + tenant + "\"} [0-9.E]+( #.*)?$");
            }
        }
        assertThat(tenantRequests(scrape, "counted", "identity_int32", "success")).isZero();
        assertThat(tenantRequests(scrape, "counted", "identity_int32", "rate_limited")).isZero();
        double othersBefore = tenantRequests(scrape, "open", "identity_int32", "success");

        infer("identity_int32", "X-API-Key", RateLimitProfile.COUNTED_KEY).then().statusCode(200);
        infer("identity_int32", "X-API-Key", RateLimitProfile.COUNTED_KEY).then().statusCode(429);
        infer("identity_int32", "X-API-Key", RateLimitProfile.COUNTED_KEY).then().statusCode(429);

        String after = given().get("/q/metrics").asString();
        assertThat(tenantRequests(after, "counted", "identity_int32", "success")).isEqualTo(1);
        assertThat(tenantRequests(after, "counted", "identity_int32", "rate_limited")).isEqualTo(2);
        assertThat(tenantRequests(after, "open", "identity_int32", "success")).isEqualTo(othersBefore);
    }

    private static double tenantRequests(String scrape, String tenant, String model, String outcome) {
        Matcher m = Pattern.compile("(?m)^sluice_tenant_requests_total\\{model=\""
                + model + "\",outcome=\"" + outcome + "\",tenant=\"" + tenant + "\"} ([0-9.eE+-]+)").matcher(scrape);
        assertThat(m.find()).as("%s/%s/%s in the scrape", tenant, model, outcome).isTrue();
        return Double.parseDouble(m.group(1));
    }

    @Test
    void callsWithoutAKnownKeyAreCountedByProtocolAndReason() {
        String scrape = given().header("X-API-Key", RateLimitProfile.REST_KEY).get("/q/metrics").asString();
        Map<String, Double> before = new HashMap<>();
        for (String protocol : List.of("rest", "grpc")) {
            for (String reason : List.of("missing_key", "unknown_key", "conflicting_keys")) { // there from the start
                before.put(protocol + "/" + reason, unauthenticated(scrape, protocol, reason));
            }
        }

        infer("identity_int32", null, null).then().statusCode(401);
        infer("identity_int32", "Authorization", "Bearer not-a-key").then().statusCode(401);
        infer("identity_int32", "X-API-Key", "not-a-key").then().statusCode(401);
        var anonymous = GRPCInferenceServiceGrpc.newBlockingStub(channel);
        assertThatThrownBy(() -> anonymous.modelInfer(request())) // Sluice's own ModelInfer route
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
        Metadata headers = new Metadata();
        headers.put(Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER), "not-a-key");
        assertThatThrownBy(() -> anonymous.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers)) // the bridge
                .modelMetadata(ModelMetadataRequest.newBuilder().setName("identity_int32").build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));

        String after = given().header("X-API-Key", RateLimitProfile.REST_KEY).get("/q/metrics").asString();
        assertThat(unauthenticated(after, "rest", "missing_key")).isEqualTo(before.get("rest/missing_key") + 1);
        assertThat(unauthenticated(after, "rest", "unknown_key")).isEqualTo(before.get("rest/unknown_key") + 2);
        assertThat(unauthenticated(after, "grpc", "missing_key")).isEqualTo(before.get("grpc/missing_key") + 1);
        assertThat(unauthenticated(after, "grpc", "unknown_key")).isEqualTo(before.get("grpc/unknown_key") + 1);
    }

    private static double unauthenticated(String scrape, String protocol, String reason) {
        Matcher m = Pattern.compile("(?m)^sluice_unauthenticated_total\\{protocol=\""
                + protocol + "\",reason=\"" + reason + "\"} ([0-9.eE+-]+)").matcher(scrape);
        assertThat(m.find()).as("%s/%s in the scrape", protocol, reason).isTrue();
        return Double.parseDouble(m.group(1));
    }

    @Test
    void grpcAnswersUnauthenticatedAndResourceExhaustedWithRetryInfo() {
        var anonymous = GRPCInferenceServiceGrpc.newBlockingStub(channel);
        assertThatThrownBy(() -> anonymous.modelInfer(request()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
                    assertThat(e.getStatus().getDescription()).contains("an API key is required");
                });
        assertThat(anonymous.serverReady(ServerReadyRequest.getDefaultInstance()).getReady()).isTrue();

        Metadata headers = new Metadata();
        headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + RateLimitProfile.GRPC_KEY);
        var tenant = anonymous.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
        tenant.modelInfer(request());
        // REST and gRPC take from the same bucket
        infer("identity_int32", "X-API-Key", RateLimitProfile.GRPC_KEY).then().statusCode(200);
        assertThatThrownBy(() -> tenant.modelInfer(request()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
                    assertThat(e.getStatus().getDescription()).contains("tenant 'grpc' is over its rate limit");
                    assertThat(GrpcClients.retryDelaySeconds(e)).isBetween(89L, 100L);
                });
    }

    @Test
    void aCallCarryingTwoDifferentKeysIsRefusedRatherThanJudgedByOne() {
        // which of two keys a proxy or client put first or last must not choose the tenant
        Metadata.Key<String> apiKey = Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER);
        Metadata.Key<String> authorization = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
        Metadata twoApiKeys = new Metadata();
        twoApiKeys.put(apiKey, "nobody's key");
        twoApiKeys.put(apiKey, RateLimitProfile.OPEN_KEY);
        Metadata bearerAndApiKey = new Metadata();
        bearerAndApiKey.put(authorization, "Bearer " + RateLimitProfile.OPEN_KEY);
        bearerAndApiKey.put(apiKey, RateLimitProfile.REST_KEY);
        Metadata sameKeyTwice = new Metadata();
        sameKeyTwice.put(authorization, "Bearer " + RateLimitProfile.OPEN_KEY);
        sameKeyTwice.put(apiKey, RateLimitProfile.OPEN_KEY);
        var stub = GRPCInferenceServiceGrpc.newBlockingStub(channel);
        String scrape = given().header("X-API-Key", RateLimitProfile.REST_KEY).get("/q/metrics").asString();
        double restBefore = unauthenticated(scrape, "rest", "conflicting_keys");
        double grpcBefore = unauthenticated(scrape, "grpc", "conflicting_keys");

        for (Metadata headers : List.of(twoApiKeys, bearerAndApiKey)) {
            // Sluice's ModelInfer route, and the bridge
            assertThatThrownBy(() -> stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers)).modelInfer(request()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
                        assertThat(e.getStatus().getDescription()).startsWith("conflicting API keys");
                    });
            assertThatThrownBy(() -> stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                    .modelMetadata(ModelMetadataRequest.newBuilder().setName("identity_int32").build()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
        }
        stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(sameKeyTwice)).modelInfer(request()); // one key
        given().header("X-API-Key", RateLimitProfile.OPEN_KEY).header("X-API-Key", "nobody's key")
                .contentType(io.restassured.http.ContentType.JSON).body("{}").post("/v2/models/identity_int32/infer")
                .then().statusCode(401).body("error", org.hamcrest.Matchers.startsWith("conflicting API keys"));
        given().header("Authorization", "Bearer " + RateLimitProfile.REST_KEY).header("X-API-Key", RateLimitProfile.OPEN_KEY)
                .get("/v2/models/identity_int32").then().statusCode(401);

        String after = given().header("X-API-Key", RateLimitProfile.REST_KEY).get("/q/metrics").asString();
        assertThat(unauthenticated(after, "rest", "conflicting_keys")).isEqualTo(restBefore + 2);
        assertThat(unauthenticated(after, "grpc", "conflicting_keys")).isEqualTo(grpcBefore + 4);
    }

    private static ModelInferRequest request() {
        return ModelInferRequest.newBuilder().setModelName("identity_int32")
                .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("INPUT0").setDatatype("INT32")
                        .addShape(1).addShape(4)
                        .setContents(InferTensorContents.newBuilder().addAllIntContents(List.of(1, 2, 3, 4))))
                .build();
    }
}
