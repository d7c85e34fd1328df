package io.sluice.cache;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.distribution.HistogramSupport;
import io.quarkus.redis.client.RedisClientName;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.sluice.Await;
import io.sluice.BinaryRest;
import io.sluice.GrpcClients;
import io.sluice.RedisResource;
import io.sluice.admission.RateLimitProfile;
import io.sluice.api.grpc.proto.GRPCInferenceServiceGrpc;
import io.sluice.api.grpc.proto.ModelInferRequest;
import io.sluice.api.grpc.proto.ModelInferResponse;
import io.sluice.config.RedisClients;
import io.sluice.config.SluiceConfig;
import io.sluice.fixtures.SluiceConfigs;
import io.sluice.inference.CacheStatus;
import io.sluice.inference.Datatype;
import io.sluice.inference.InferRequest;
import io.sluice.inference.InferResponse;
import io.sluice.inference.Protocol;
import io.sluice.inference.Tensor;
import io.sluice.observability.MetricNames;
import io.sluice.observability.SluiceMetrics;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Redis;
import io.vertx.mutiny.redis.client.Request;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The response cache end to end, with a real Redis as L2: one key across protocols, versions apart,
 * L2 filling L1, byte bounds and TTLs, coalescing of identical requests in flight, Redis stopped in
 * the middle, and hits still counted by the rate limit.
 */
@QuarkusTest
@TestProfile(RateLimitProfile.class)
class ResponseCacheTest {

    private static final Map<String, String> OPEN = Map.of("X-API-Key", RateLimitProfile.OPEN_KEY);
    /** The tenant {@link #OPEN}'s key belongs to: entries are kept per tenant. */
    private static final String OPEN_TENANT = "open";
    private static final AtomicInteger UNIQUE = new AtomicInteger(1000);

    @Inject
    MeterRegistry registry;

    /** Rows of FP32 [rows, 4] no other test sends. */
    private static byte[] rows(int rows) {
        int seed = UNIQUE.incrementAndGet();
        ByteBuffer b = ByteBuffer.allocate(rows * 16).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < rows * 4; i++) {
            b.putFloat(seed * 10_000f + i);
        }
        return b.array();
    }

    private static Response binary(String model, byte[] data, Map<String, String> headers) {
        int rows = data.length / 16;
        return BinaryRest.post(model, List.of(new BinaryRest.Input("INPUT0", "FP32", new long[] {rows, 4}, data)), headers);
    }

    private static String cache(Response r) {
        r.then().statusCode(200);
        return r.header("Sluice-Cache");
    }

    /** Requests of {@code model} the cache answered without a run of their own. */
    private double served(String model) {
        return counter(model, "inflight", "hit") + counter(model, "l1", "hit") + counter(model, "l2", "hit");
    }

    private double counter(String model, String tier, String result) {
        Counter c = registry.find(MetricNames.CACHE_REQUESTS).tags(MetricNames.MODEL, model, MetricNames.TIER, tier,
                MetricNames.RESULT, result).counter();
        return c == null ? 0 : c.count();
    }

    @Test
    void theSameTensorHitsOneEntryOverJsonBinaryAndGrpc() {
        Await.serverReady();
        byte[] data = rows(1);
        ByteBuffer floats = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        List<Float> values = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            values.add(floats.getFloat(i * 4));
        }
        Response json = given().headers(OPEN).contentType(ContentType.JSON)
                .body(Map.of("id", "first", "inputs", List.of(Map.of("name", "INPUT0", "datatype", "FP32",
                        "shape", List.of(1, 4), "data", values))))
                .post("/v2/models/identity_fp32/infer");
        assertThat(cache(json)).isEqualTo("miss");
        assertThat(json.jsonPath().getString("id")).isEqualTo("first");

        Response bin = binary("identity_fp32", data, OPEN);
        assertThat(cache(bin)).isEqualTo("hit-l1");
        assertThat(BinaryRest.outputs(bin).get(0).data()).isEqualTo(data);

        ManagedChannel channel = GrpcClients.channel();
        try {
            Metadata headers = new Metadata();
            headers.put(Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER), RateLimitProfile.OPEN_KEY);
            ModelInferResponse grpc = GRPCInferenceServiceGrpc.newBlockingStub(channel)
                    .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                    .modelInfer(ModelInferRequest.newBuilder().setModelName("identity_fp32").setId("third")
                            .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("INPUT0").setDatatype("FP32")
                                    .addShape(1).addShape(4))
                            .addRawInputContents(ByteString.copyFrom(data)).build());
            assertThat(grpc.getParametersMap().get("sluice_cache").getStringParam()).isEqualTo("hit-l1");
            assertThat(grpc.getId()).isEqualTo("third"); // the caller's id, not the cached one
            assertThat(grpc.getRawOutputContents(0).toByteArray()).isEqualTo(data);
        } finally {
            channel.shutdownNow();
        }
    }

    @Test
    void versionsKeepTheirOwnEntries() {
        Await.serverReady();
        Map<String, Object> body = Map.of("inputs", List.of(
                Map.of("name", "A", "datatype", "FP32", "shape", List.of(1, 4), "data", List.of(1, 2, 3, 4)),
                Map.of("name", "B", "datatype", "FP32", "shape", List.of(1, 4), "data", List.of(UNIQUE.incrementAndGet(), 0, 0, 0))));
        for (String version : List.of("1", "2")) {
            Response r = given().headers(OPEN).contentType(ContentType.JSON).body(body)
                    .post("/v2/models/add/versions/" + version + "/infer");
            assertThat(cache(r)).isEqualTo("miss");
            assertThat(r.jsonPath().getString("model_version")).isEqualTo(version);
        }
        Response again = given().headers(OPEN).contentType(ContentType.JSON).body(body).post("/v2/models/add/versions/1/infer");
        assertThat(cache(again)).isEqualTo("hit-l1");
        assertThat(again.jsonPath().getString("model_version")).isEqualTo("1");
        // the default version is 2: its own entry
        Response latest = given().headers(OPEN).contentType(ContentType.JSON).body(body).post("/v2/models/add/infer");
        assertThat(cache(latest)).isEqualTo("hit-l1");
        assertThat(latest.jsonPath().getString("model_version")).isEqualTo("2");
    }

    @Test
    void aResponseIsStoredOnlyWhenComputedMinUsesTimes() {
        Await.serverReady();
        float seed = (float) (System.nanoTime() % 1000);
        Map<String, Object> body = Map.of("inputs", List.of(Map.of("name", "X", "datatype", "FP32",
                "shape", List.of(1, 3), "data", List.of(seed, 1, 1))));
        Tensor x = new Tensor("X", Datatype.FP32, new long[] {1, 3},
                ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putFloat(seed).putFloat(1).putFloat(1).flip());
        CacheKey key = CacheKey.of(OPEN_TENANT, "matmul", "1", contents("matmul"), new InferRequest("matmul", null, null, Map.of(), List.of(x),
                List.of(), 0, InferRequest.NO_DEADLINE, Protocol.REST));
        List<Float> expected = List.of(seed + 8, 2 * seed + 10); // [seed, 1, 1] x [[1, 2], [3, 4], [5, 6]]

        // min-uses 2: the first computation is served and forgotten, the second is stored, the third hits
        assertThat(cache(matmul(body, expected))).isEqualTo("miss");
        assertThat(inRedis(key)).as("stored after one computation").isFalse();
        assertThat(cache(matmul(body, expected))).isEqualTo("miss");
        await().atMost(Duration.ofSeconds(5)).until(() -> inRedis(key)); // L2 is written after the answer
        assertThat(cache(matmul(body, expected))).isEqualTo("hit-l1");
    }

    private static Response matmul(Map<String, Object> body, List<Float> expected) {
        Response r = given().headers(OPEN).contentType(ContentType.JSON).body(body).post("/v2/models/matmul/infer");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.jsonPath().getList("outputs[0].data", Float.class)).isEqualTo(expected);
        return r;
    }

    private static boolean inRedis(CacheKey key) {
        return withRedis(redis -> redis.send(Request.cmd(Command.EXISTS).arg("sluice:cache:" + key.hex()))
                .await().atMost(Duration.ofSeconds(5)).toInteger() == 1);
    }

    @Test
    void anEntryOnlyRedisCanHoldIsInRedisBeforeItsAnswer() {
        Await.serverReady();
        l2BackInUse(); // a test before this one may have restarted Redis
        // 32 KB of outputs: over L1's 16 KB, under L2's 64 KB
        assertInRedisOnceAnswered(config, 2000);
    }

    @Test
    void withL1TurnedOffByItsTtlEveryEntryIsInRedisBeforeItsAnswer() {
        Await.serverReady();
        l2BackInUse();
        // the README's L2-only cache: l1.ttl=0, whatever l1.max-bytes says (here plenty)
        SluiceConfig l2Only = SluiceConfigs.of(Map.of("sluice.cache.l1.ttl", "0s", "sluice.cache.l1.max-bytes", "1048576",
                "sluice.cache.l2.enabled", "true", "sluice.cache.l2.max-entry-bytes", "65536",
                "sluice.cache.l2.timeout", "500ms"));
        assertInRedisOnceAnswered(l2Only, 1);
    }

    /** An answer of {@code rows} rows through a cache on {@code settings}, whose Redis writes go 100 ms late. */
    private void assertInRedisOnceAnswered(SluiceConfig settings, int rows) {
        // the real Redis, whose writes are sent 100 ms late (lookups at once); the L2 timeout here is 500 ms
        io.vertx.redis.client.Redis core = redis.get().getDelegate();
        io.vertx.redis.client.Redis lateWrites = (io.vertx.redis.client.Redis) Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {io.vertx.redis.client.Redis.class}, (p, m, a) -> {
                    if (m.getName().equals("send") && ((io.vertx.redis.client.Request) a[0]).command()
                            == io.vertx.redis.client.Command.SET) {
                        io.vertx.core.Promise<io.vertx.redis.client.Response> sent = io.vertx.core.Promise.promise();
                        vertxCore.setTimer(100, id -> core.send((io.vertx.redis.client.Request) a[0]).onComplete(sent));
                        if (a.length == 1) {
                            return sent.future();
                        }
                        @SuppressWarnings("unchecked") // send(request, handler), as the Mutiny client calls it
                        io.vertx.core.Handler<io.vertx.core.AsyncResult<io.vertx.redis.client.Response>> handler =
                                (io.vertx.core.Handler<io.vertx.core.AsyncResult<io.vertx.redis.client.Response>>) a[1];
                        sent.future().onComplete(handler);
                        return p;
                    }
                    try {
                        return m.invoke(core, a);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        @SuppressWarnings("unchecked")
        Instance<Redis> slow = (Instance<Redis>) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {Instance.class}, (proxy, method, args) -> Redis.newInstance(lateWrites));
        ResponseCache cache = new ResponseCache(settings, metrics, slow);
        Tensor input = new Tensor("INPUT0", Datatype.FP32, new long[] {rows, 4}, ByteBuffer.wrap(rows(rows)));
        InferRequest request = new InferRequest("identity_fp32", null, null, Map.of(), List.of(input), List.of(), 0,
                InferRequest.NO_DEADLINE, Protocol.REST);
        CacheKey key = CacheKey.of("anonymous", "identity_fp32", "1", "contents", request);

        InferResponse answer = cache.serve("anonymous", "identity_fp32", "1", "contents", 1, 0, request,
                r -> Uni.createFrom().item(new InferResponse("identity_fp32", "1", null, Map.of(), List.of(input))))
                .await().atMost(Duration.ofSeconds(10));
        assertThat(answer.cache()).isEqualTo(CacheStatus.MISS);
        // no L1 entry to answer the next identical request: the write is not left behind the answer
        assertThat(inRedis(key)).as("in Redis once answered").isTrue();
    }

    /**
     * Sets {@code value} in Redis under the key of {@code identity_fp32}'s request of {@code data} naming {@code
     * outputs}, and gives that request's input.
     */
    private Tensor plant(byte[] data, List<String> outputs, Tensor value) {
        Tensor input = new Tensor("INPUT0", Datatype.FP32, new long[] {1, 4}, ByteBuffer.wrap(data));
        CacheKey key = CacheKey.of(OPEN_TENANT, "identity_fp32", "1", contents("identity_fp32"),
                new InferRequest("identity_fp32", null, null, Map.of(), List.of(input), outputs, 0,
                        InferRequest.NO_DEADLINE, Protocol.REST));
        withRedis(redis -> redis.send(Request.cmd(Command.SET).arg("sluice:cache:" + key.hex())
                .arg(CachedOutputs.encode(List.of(value)))).await().atMost(Duration.ofSeconds(5)));
        return input;
    }

    @Test
    void anL2HitComesFromRedisAndFillsL1() {
        Await.serverReady();
        l2BackInUse(); // a test before this one may have restarted Redis
        byte[] data = rows(1);
        // an entry only Redis has, with outputs the model would never give: a hit must return these
        byte[] planted = new byte[16];
        planted[0] = 42;
        plant(data, List.of(), new Tensor("OUTPUT0", Datatype.FP32, new long[] {1, 4}, ByteBuffer.wrap(planted)));

        Response fromRedis = binary("identity_fp32", data, OPEN);
        assertThat(cache(fromRedis)).isEqualTo("hit-l2");
        assertThat(BinaryRest.outputs(fromRedis).get(0).data()).isEqualTo(planted);
        Response fromL1 = binary("identity_fp32", data, OPEN);
        assertThat(cache(fromL1)).isEqualTo("hit-l1");
        assertThat(BinaryRest.outputs(fromL1).get(0).data()).isEqualTo(planted);
    }

    @Test
    void aValueInRedisWithOtherOutputsThanTheRequestNamesIsAMiss() {
        Await.serverReady();
        l2BackInUse(); // a test before this one may have restarted Redis
        byte[] data = rows(1);
        // well framed, its bytes fit its shape, but not the output asked for: another writer's
        Tensor foreign = new Tensor("OTHER", Datatype.FP32, new long[] {1, 4}, ByteBuffer.wrap(new byte[16]));
        Tensor input = plant(data, List.of("OUTPUT0"), foreign);

        ByteBuffer floats = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        String values = java.util.stream.IntStream.range(0, 4).mapToObj(i -> Float.toString(floats.getFloat(i * 4)))
                .collect(java.util.stream.Collectors.joining(","));
        Response answer = given().headers(OPEN).contentType(ContentType.JSON)
                .body("{\"inputs\":[{\"name\":\"INPUT0\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[" + values
                        + "]}],\"outputs\":[{\"name\":\"OUTPUT0\"}]}")
                .post("/v2/models/identity_fp32/infer");
        assertThat(cache(answer)).isEqualTo("miss");
        assertThat(answer.jsonPath().getString("outputs[0].name")).isEqualTo("OUTPUT0");
        assertThat(ResponseCache.answers(List.of(foreign), new InferRequest("identity_fp32", null, null, Map.of(),
                List.of(input), List.of(), 0, InferRequest.NO_DEADLINE, Protocol.REST))).as("none named").isTrue();
    }

    @Test
    void aForeignValueUnderAKeyIsAMissThatTheWriteReplacesAndLeavesL2On() {
        Await.serverReady();
        byte[] data = rows(1);
        CacheKey key = keyOf("identity_fp32", data);
        withRedis(redis -> redis.send(Request.cmd(Command.HSET).arg("sluice:cache:" + key.hex()).arg("f").arg("v"))
                .await().atMost(Duration.ofSeconds(5)));
        double errorsBefore = counter("identity_fp32", "l2", "error");
        assertThat(cache(binary("identity_fp32", data, OPEN))).isEqualTo("miss"); // WRONGTYPE: not Redis away
        await().atMost(Duration.ofSeconds(5)).until(() -> withRedis(redis -> redis.send(Request.cmd(Command.TYPE)
                .arg("sluice:cache:" + key.hex())).await().atMost(Duration.ofSeconds(5)).toString()).equals("string"));
        assertThat(counter("identity_fp32", "l2", "error") - errorsBefore).isZero();
        // and L2 still takes other keys at once
        byte[] other = rows(1);
        assertThat(cache(binary("identity_fp32", other, OPEN))).isEqualTo("miss");
        CacheKey otherKey = keyOf("identity_fp32", other);
        await().atMost(Duration.ofSeconds(5)).until(() -> inRedis(otherKey));
    }

    @Test
    void anotherTenantNeverHitsATenantsEntry() {
        Await.serverReady();
        byte[] data = rows(1);
        Map<String, String> other = Map.of("X-API-Key", RateLimitProfile.OTHER_OPEN_KEY);
        assertThat(cache(binary("identity_fp32", data, OPEN))).isEqualTo("miss");
        assertThat(cache(binary("identity_fp32", data, OPEN))).isEqualTo("hit-l1");
        // the same input from another tenant: computed for it, and nothing tells it that "open" sent it
        assertThat(cache(binary("identity_fp32", data, other))).isEqualTo("miss");
        assertThat(cache(binary("identity_fp32", data, other))).isEqualTo("hit-l1");
    }

    @Test
    void byteBoundsAndTtlsAreHonoured() {
        Await.serverReady();
        l2BackInUse(); // a test before this one may have restarted Redis
        // 2000 rows: 32 KB of outputs, over L1's 16 KB but under L2's 64 KB cap per entry
        byte[] medium = rows(2000);
        assertThat(cache(binary("identity_fp32", medium, OPEN))).isEqualTo("miss");
        CacheKey mediumKey = keyOf("identity_fp32", medium);
        await().atMost(Duration.ofSeconds(5)).until(() -> inRedis(mediumKey)); // L2 is written after the answer
        assertThat(cache(binary("identity_fp32", medium, OPEN))).isEqualTo("hit-l2");
        assertThat(cache(binary("identity_fp32", medium, OPEN))).isEqualTo("hit-l2"); // L1 could not keep it
        // 5000 rows: 80 KB, over both bounds: never cached
        byte[] large = rows(5000);
        assertThat(cache(binary("identity_fp32", large, OPEN))).isEqualTo("miss");
        assertThat(cache(binary("identity_fp32", large, OPEN))).isEqualTo("miss");
        // Redis holds entries for its TTL (10 min here)
        long ttl = withRedis(redis -> redis.send(Request.cmd(Command.PTTL).arg("sluice:cache:"
                + mediumKey.hex())).await().atMost(Duration.ofSeconds(5)).toLong());
        assertThat(ttl).isBetween(1L, Duration.ofMinutes(10).toMillis());

        // L1's TTL is 3 s here: a small entry turns from an L1 hit into an L2 hit when it expires
        byte[] small = rows(1);
        long start = System.nanoTime();
        assertThat(cache(binary("identity_fp32", small, OPEN))).isEqualTo("miss");
        String[] afterL1 = new String[1];
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(250))
                .until(() -> !"hit-l1".equals(afterL1[0] = cache(binary("identity_fp32", small, OPEN))));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(2900));
        assertThat(afterL1[0]).isEqualTo("hit-l2"); // not a plain miss, which would fill L1 all the same
        assertThat(cache(binary("identity_fp32", small, OPEN))).isEqualTo("hit-l1"); // refilled from L2
    }

    @Test
    void identicalRequestsInFlightRunTheModelOnce() throws Exception {
        Await.serverReady();
        byte[] x = new byte[8 * 256 * 4];
        ByteBuffer.wrap(x).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, UNIQUE.incrementAndGet());
        long batchesBefore = batches();
        double joinedBefore = served("slow");
        int callers = 6;
        CountDownLatch go = new CountDownLatch(1);
        List<CompletableFuture<Response>> calls = new ArrayList<>();
        for (int i = 0; i < callers; i++) {
            calls.add(CompletableFuture.supplyAsync(() -> {
                try {
                    go.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return BinaryRest.post("slow", List.of(new BinaryRest.Input("X", "FP32", new long[] {8, 256}, x)), OPEN);
            }));
        }
        go.countDown();
        byte[] first = null;
        for (CompletableFuture<Response> call : calls) {
            Response r = call.get(60, TimeUnit.SECONDS);
            r.then().statusCode(200);
            byte[] out = BinaryRest.outputs(r).get(0).data();
            first = first == null ? out : first;
            assertThat(out).isEqualTo(first);
        }
        assertThat(batches() - batchesBefore).as("model runs").isEqualTo(1);
        // the others joined the run in flight, or (arriving after it) hit a tier
        assertThat(served("slow") - joinedBefore)
                .isEqualTo(callers - 1);
    }

    @Test
    void withRedisStoppedResultsStayCorrectAndNothingFails() {
        Await.serverReady();
        Counter errors = registry.find(MetricNames.CACHE_REQUESTS).tags(MetricNames.MODEL, "identity_fp32",
                MetricNames.TIER, "l2", MetricNames.RESULT, "error").counter();
        double errorsBefore = errors == null ? 0 : errors.count(); // another test may have counted one already
        RedisResource.redis().down();
        try {
            for (int i = 0; i < 3; i++) {
                byte[] data = rows(1);
                Response miss = binary("identity_fp32", data, OPEN);
                assertThat(cache(miss)).isEqualTo("miss");
                assertThat(BinaryRest.outputs(miss).get(0).data()).isEqualTo(data);
                Response hit = binary("identity_fp32", data, OPEN);
                assertThat(cache(hit)).isEqualTo("hit-l1");
                assertThat(BinaryRest.outputs(hit).get(0).data()).isEqualTo(data);
            }
            errors = registry.find(MetricNames.CACHE_REQUESTS).tags(MetricNames.MODEL, "identity_fp32",
                    MetricNames.TIER, "l2", MetricNames.RESULT, "error").counter();
            assertThat(errors).isNotNull();
            assertThat(errors.count()).isGreaterThan(errorsBefore);
        } finally {
            RedisResource.redis().up();
            l2BackInUse();
        }
    }

    /**
     * Waits until the server's L2 stores and serves again after a Redis restart: its pooled connections to the old
     * server fail once each, and each failure sets L2 aside for its retry interval, which would turn the next
     * tests' L2 hits into misses. Asked with entries L1 cannot keep, so a second ask is an L2 hit or nothing; it is
     * asked once the entry is in Redis, or not at all if the write was set aside.
     */
    private void l2BackInUse() {
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> {
            byte[] medium = rows(2000); // 32 KB of outputs: over L1's 16 KB, under L2's 64 KB per entry
            if (!cache(binary("identity_fp32", medium, OPEN)).equals("miss")) {
                return false;
            }
            CacheKey key = keyOf("identity_fp32", medium);
            try {
                await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(20)).until(() -> inRedis(key));
            } catch (org.awaitility.core.ConditionTimeoutException e) {
                return false; // L2 was still set aside when the write came: try again with a new entry
            }
            return "hit-l2".equals(cache(binary("identity_fp32", medium, OPEN)));
        });
    }

    @Inject
    SluiceConfig config;

    @Inject
    SluiceMetrics metrics;

    @Test
    void withoutARedisClientL2IsSkippedAndEveryRequestIsServed() {
        // L2 on, but no Redis client can be had: the lookup fails open, as it does when Redis is down
        @SuppressWarnings("unchecked")
        Instance<Redis> noClient = (Instance<Redis>) Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {Instance.class}, (proxy, method, args) -> {
                    throw new IllegalStateException("no Redis client in this test");
                });
        ResponseCache cache = new ResponseCache(config, metrics, noClient);
        Tensor input = new Tensor("INPUT0", Datatype.FP32, new long[] {1, 4}, ByteBuffer.wrap(rows(1)));
        InferRequest request = new InferRequest("identity_fp32", null, null, Map.of(), List.of(input), List.of(), 0,
                InferRequest.NO_DEADLINE, Protocol.REST);
        AtomicInteger computed = new AtomicInteger();
        double errorsBefore = counter("identity_fp32", "l2", "error");
        // the first is computed; the second is an L1 hit (not left waiting on a flight that never started)
        for (CacheStatus expected : new CacheStatus[] {CacheStatus.MISS, CacheStatus.HIT_L1}) {
            assertThat(cache.serve("anonymous", "identity_fp32", "1", "contents", 1, 0, request, r -> {
                computed.incrementAndGet();
                return Uni.createFrom().item(new InferResponse("identity_fp32", "1", null, Map.of(), List.of(input)));
            }).subscribeAsCompletionStage()).succeedsWithin(Duration.ofSeconds(10))
                    .satisfies(answer -> assertThat(answer.cache()).isEqualTo(expected));
        }
        assertThat(computed).hasValue(1);
        assertThat(counter("identity_fp32", "l2", "error") - errorsBefore).isEqualTo(1);
    }

    @Test
    void whatFollowsAnL2LookupRunsOnTheRequestsOwnContextNotRedissThread() throws Exception {
        // what follows a lookup (decoding a hit, or admitting and queueing a miss) must not run on a thread every
        // lookup and rate-limit take shares: the Redis client answers on the context that sent, and Quarkus runs
        // Mutiny's timeouts on the context that set them, so it comes back to the request's own
        ResponseCache cache = new ResponseCache(config, metrics, redis);
        Tensor input = new Tensor("INPUT0", Datatype.FP32, new long[] {1, 4}, ByteBuffer.wrap(rows(1)));
        InferRequest request = new InferRequest("identity_fp32", null, null, Map.of(), List.of(input), List.of(), 0,
                InferRequest.NO_DEADLINE, Protocol.REST);
        CacheKey key = CacheKey.of("anonymous", "identity_fp32", "1", "contents", request);
        io.vertx.core.Context caller = vertxCore.getOrCreateContext();

        // a Redis that never answers: the lookup gives up at its timeout on a timer's thread, and the request
        // is computed on its own context all the same
        @SuppressWarnings("unchecked")
        Instance<Redis> silent = (Instance<Redis>) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {Instance.class}, (proxy, method, args) -> Redis.newInstance(
                        (io.vertx.redis.client.Redis) Proxy.newProxyInstance(getClass().getClassLoader(),
                                new Class<?>[] {io.vertx.redis.client.Redis.class}, (p, m, a) -> m.getName().equals("send")
                                        ? io.vertx.core.Promise.promise().future() : null)));
        CompletableFuture<io.vertx.core.Context> computedAfterTimeout = new CompletableFuture<>();
        CompletableFuture<InferResponse> timedOut = new CompletableFuture<>();
        caller.runOnContext(v -> new ResponseCache(config, metrics, silent).serve("anonymous", "identity_fp32", "1",
                "contents", 1, 0, request, r -> {
                    computedAfterTimeout.complete(io.vertx.core.Vertx.currentContext());
                    return Uni.createFrom().item(new InferResponse("identity_fp32", "1", null, Map.of(), List.of(input)));
                }).subscribe().with(timedOut::complete, timedOut::completeExceptionally));
        assertThat(timedOut).succeedsWithin(Duration.ofSeconds(10));
        assertThat(computedAfterTimeout.join()).as("computed after the lookup timed out").isSameAs(caller);

        // a real one: computed after a miss, and answered from L2, on the request's context
        for (CacheStatus expected : new CacheStatus[] {CacheStatus.MISS, CacheStatus.HIT_L2}) {
            ResponseCache fresh = expected == CacheStatus.MISS ? cache : new ResponseCache(config, metrics, redis); // no L1
            CompletableFuture<io.vertx.core.Context> computedOn = new CompletableFuture<>();
            CompletableFuture<io.vertx.core.Context> answeredOn = new CompletableFuture<>();
            CompletableFuture<InferResponse> answer = new CompletableFuture<>();
            caller.runOnContext(v -> fresh.serve("anonymous", "identity_fp32", "1", "contents", 1, 0, request, r -> {
                computedOn.complete(io.vertx.core.Vertx.currentContext());
                return Uni.createFrom().item(new InferResponse("identity_fp32", "1", null, Map.of(), List.of(input)));
            }).subscribe().with(item -> {
                answeredOn.complete(io.vertx.core.Vertx.currentContext());
                answer.complete(item);
            }, answer::completeExceptionally));
            assertThat(answer).succeedsWithin(Duration.ofSeconds(10))
                    .satisfies(a -> assertThat(a.cache()).isEqualTo(expected));
            assertThat(answeredOn.join()).as("answered, " + expected).isSameAs(caller);
            if (expected == CacheStatus.MISS) {
                assertThat(computedOn.join()).as("computed after the L2 miss").isSameAs(caller);
                await().atMost(Duration.ofSeconds(5)).until(() -> inRedis(key)); // L2 is written after the answer
            } else {
                assertThat(computedOn).isNotDone();
            }
        }
    }

    @Inject
    io.vertx.core.Vertx vertxCore;

    @Test
    void anL1TtlOfZeroStillCountsUsesAndFillsL2() {
        // L1 off by its TTL, L2 on: the computations of a key must still be counted, over the life of an L2 entry
        SluiceConfig.Cache.L1 l1 = override(SluiceConfig.Cache.L1.class, config.cache().l1(), "ttl", Duration.ZERO);
        SluiceConfig l2Only = override(SluiceConfig.class, config, "cache",
                override(SluiceConfig.Cache.class, config.cache(), "l1", l1));
        assertThat(ResponseCache.countingWindow(l2Only.cache())).isEqualTo(config.cache().l2().ttl());
        ResponseCache cache = new ResponseCache(l2Only, metrics, redis);
        Tensor input = new Tensor("INPUT0", Datatype.FP32, new long[] {1, 4}, ByteBuffer.wrap(rows(1)));
        InferRequest request = new InferRequest("identity_fp32", null, "l2-only", Map.of(), List.of(input), List.of(), 0,
                InferRequest.NO_DEADLINE, Protocol.REST);
        CacheKey key = CacheKey.of("anonymous", "identity_fp32", "1", "l2-only-contents", request);
        AtomicInteger computed = new AtomicInteger();
        java.util.function.Supplier<InferResponse> ask = () -> cache.serve("anonymous", "identity_fp32", "1",
                "l2-only-contents", 2, 0, request, r -> {
                    computed.incrementAndGet();
                    return Uni.createFrom().item(new InferResponse("identity_fp32", "1", null, Map.of(), List.of(input)));
                }).await().atMost(Duration.ofSeconds(10));
        assertThat(ask.get().cache()).isEqualTo(CacheStatus.MISS);
        // every second computation reaches min-uses 2 and writes L2 (after the answer). Asked until one is an L2
        // hit: a test before this one may have restarted Redis, and the pooled connection's first failure then
        // sets L2 aside for its retry interval, write and all (without the fix no count reaches 2: never a hit)
        await().atMost(Duration.ofSeconds(10)).until(() -> ask.get().cache() == CacheStatus.HIT_L2);
        assertThat(inRedis(key)).isTrue();
        assertThat(computed.get()).isGreaterThanOrEqualTo(2);
    }

    /** {@code base} with {@code method} (one without arguments) answering {@code value}. */
    @SuppressWarnings("unchecked")
    private static <T> T override(Class<T> type, T base, String method, Object value) {
        return (T) Proxy.newProxyInstance(ResponseCacheTest.class.getClassLoader(), new Class<?>[] {type},
                (proxy, m, args) -> {
                    if (m.getName().equals(method) && m.getParameterCount() == 0) {
                        return value;
                    }
                    try {
                        return m.invoke(base, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    /** A model whose runs the test ends: each run it is asked for is added to {@code runs}, unanswered. */
    private static final class HeldModel implements java.util.function.Function<InferRequest, Uni<InferResponse>> {
        final List<CompletableFuture<InferResponse>> runs = new java.util.concurrent.CopyOnWriteArrayList<>();
        final Tensor input = new Tensor("INPUT0", Datatype.FP32, new long[] {1, 4}, ByteBuffer.wrap(rows(1)));

        @Override
        public Uni<InferResponse> apply(InferRequest request) {
            CompletableFuture<InferResponse> run = new CompletableFuture<>();
            runs.add(run);
            return Uni.createFrom().completionStage(run);
        }

        /** An answer through {@code cache} to the one request this model is asked, with this id and priority. */
        CompletableFuture<InferResponse> ask(ResponseCache cache, String id, int priority) {
            return ask(cache, id, priority, InferRequest.NO_DEADLINE);
        }

        CompletableFuture<InferResponse> ask(ResponseCache cache, String id, int priority, long deadlineNanos) {
            return ask(cache, id, priority, deadlineNanos, 1);
        }

        CompletableFuture<InferResponse> ask(ResponseCache cache, String id, int priority, long deadlineNanos, int minUses) {
            InferRequest request = new InferRequest("identity_fp32", null, id, Map.of(), List.of(input), List.of(),
                    priority, deadlineNanos, Protocol.REST);
            return cache.serve("anonymous", "identity_fp32", "1", "contents", minUses, priority, request, this)
                    .subscribeAsCompletionStage();
        }

        void answer(int run) {
            runs.get(run).complete(new InferResponse("identity_fp32", "1", null, Map.of(), List.of(input)));
        }
    }

    @Test
    void onlyRequestsOfOnePriorityShareARun() {
        ResponseCache cache = new ResponseCache(config, metrics, redis);
        HeldModel model = new HeldModel();
        List<CompletableFuture<InferResponse>> answers = new ArrayList<>();
        for (int priority : new int[] {2, 2, 1, 1, 2}) { // 1 is the highest level
            answers.add(model.ask(cache, "p" + priority, priority));
        }
        // the first priority-1 request did not join the priority-2 run queued at its lower level
        await().atMost(Duration.ofSeconds(10)).until(() -> model.runs.size() == 2);
        model.answer(0);
        model.answer(1);
        for (CompletableFuture<InferResponse> answer : answers) {
            assertThat(answer).succeedsWithin(Duration.ofSeconds(10));
        }
        assertThat(model.runs).hasSize(2);
    }

    @Test
    void whenTheFirstRequestsDeadlineEndsTheSharedRunTheOthersShareANewOne() {
        ResponseCache cache = new ResponseCache(config, metrics, redis);
        HeldModel model = new HeldModel();
        double missesBefore = counter("identity_fp32", "l1", "miss");
        double joinedBefore = counter("identity_fp32", "inflight", "hit");
        List<CompletableFuture<InferResponse>> answers = new ArrayList<>();
        answers.add(model.ask(cache, "r0", 0, System.nanoTime())); // due at once: it fails on its own deadline
        for (int i = 1; i < 4; i++) {
            answers.add(model.ask(cache, "r" + i, 0));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> model.runs.size() == 1);
        model.runs.get(0).completeExceptionally(new io.sluice.inference.InferenceException.DeadlineExceeded("r0's deadline"));
        assertThat(answers.get(0)).failsWithin(Duration.ofSeconds(10));
        // the three others run once more, together, not three times
        await().atMost(Duration.ofSeconds(10)).until(() -> model.runs.size() == 2);
        model.answer(1);
        for (CompletableFuture<InferResponse> answer : answers.subList(1, 4)) {
            assertThat(answer).succeedsWithin(Duration.ofSeconds(10));
        }
        assertThat(model.runs).hasSize(2);
        // four requests, four lookups; two answered by a run another started (the first run answered none)
        assertThat(counter("identity_fp32", "l1", "miss") - missesBefore).isEqualTo(4);
        assertThat(counter("identity_fp32", "inflight", "hit") - joinedBefore).isEqualTo(2);
    }

    @Test
    void aRequestThatComesOnceTheSharedRunHasAnsweredStartsItsOwn() {
        ResponseCache cache = new ResponseCache(config, metrics, redis);
        HeldModel model = new HeldModel();
        double joinedBefore = counter("identity_fp32", "inflight", "hit");
        CompletableFuture<CompletableFuture<InferResponse>> next = new CompletableFuture<>();
        CompletableFuture<InferResponse> first = model.ask(cache, "a0", 0, InferRequest.NO_DEADLINE, 2);
        // asked the moment the first has its answer, on the thread that answered it
        first.thenRun(() -> next.complete(model.ask(cache, "a1", 0, InferRequest.NO_DEADLINE, 2)));
        await().atMost(Duration.ofSeconds(10)).until(() -> model.runs.size() == 1);
        model.answer(0);
        assertThat(first).succeedsWithin(Duration.ofSeconds(10));
        // the run it would have joined was over: it is computed again, the use min-uses 2 waits for
        await().atMost(Duration.ofSeconds(10)).until(() -> model.runs.size() == 2);
        model.answer(1);
        assertThat(next.join()).succeedsWithin(Duration.ofSeconds(10));
        assertThat(counter("identity_fp32", "inflight", "hit") - joinedBefore).isZero();
        assertThat(model.ask(cache, "a2", 0, InferRequest.NO_DEADLINE, 2)).succeedsWithin(Duration.ofSeconds(10));
        assertThat(model.runs).hasSize(2); // the second computation was stored: the third is a hit
    }

    @Test
    void whenTheSharedRunTimesOutForAnyOtherReasonTheOthersRunAlone() {
        ResponseCache cache = new ResponseCache(config, metrics, redis);
        HeldModel model = new HeldModel();
        List<CompletableFuture<InferResponse>> answers = new ArrayList<>();
        for (int i = 0; i < 3; i++) { // no deadline: a DeadlineExceeded is the model's own admission.timeout
            answers.add(model.ask(cache, "t" + i, 0));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> model.runs.size() == 1);
        model.runs.get(0).completeExceptionally(new io.sluice.inference.InferenceException.DeadlineExceeded("too slow"));
        // a model that is that slow gets the two others alone, not one more shared wait first
        await().atMost(Duration.ofSeconds(10)).until(() -> model.runs.size() == 3);
        model.answer(1);
        model.answer(2);
        assertThat(answers.get(0)).failsWithin(Duration.ofSeconds(10));
        assertThat(answers.get(1)).succeedsWithin(Duration.ofSeconds(10));
        assertThat(answers.get(2)).succeedsWithin(Duration.ofSeconds(10));
    }

    @Test
    void aRefusalOfTheSharedInputsIsEveryJoinedRequestsWithoutRunningThemAgain() {
        ResponseCache cache = new ResponseCache(config, metrics, redis);
        HeldModel model = new HeldModel();
        List<CompletableFuture<InferResponse>> answers = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            answers.add(model.ask(cache, "v" + i, 0));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> model.runs.size() == 1);
        model.runs.get(0).completeExceptionally(
                new io.sluice.inference.InferenceException.InvalidInput("the model refused the input: index 9 out of range"));
        for (CompletableFuture<InferResponse> answer : answers) { // identical inputs: the model would refuse each again
            assertThat(answer).failsWithin(Duration.ofSeconds(10)).withThrowableThat().havingRootCause()
                    .isInstanceOf(io.sluice.inference.InferenceException.InvalidInput.class)
                    .withMessageContaining("index 9 out of range");
        }
        assertThat(model.runs).hasSize(1);
    }

    @Inject
    @RedisClientName(RedisClients.CACHE) // the cache's own client, as ResponseCache is given
    Instance<Redis> redis;

    @Inject
    io.sluice.model.ModelRegistry models;

    /** The digest of a served model's files, and its provider, which every key of that model includes. */
    private String contents(String model) {
        String contents = models.ready(model, null).contents();
        // its files, the provider, the ONNX Runtime that runs it, and whether it batches (classification differs)
        assertThat(contents).as("contents of " + model).matches("[0-9a-f]{64}@cpu@onnxruntime-1\\.\\d+\\.\\d+@(rows|whole)");
        return contents;
    }

    @Test
    void aPriorityTheModelLacksIsItsDefaultLevelCachedOrNot() {
        Await.serverReady();
        byte[] data = rows(1);
        assertThat(cache(binary("identity_fp32", data, OPEN))).isEqualTo("miss");
        assertThat(cache(binary("identity_fp32", data, OPEN))).isEqualTo("hit-l1");
        // as Triton reads it: priority 99 on a model of one level is that level
        var answer = binary("identity_fp32", data, Map.of("X-API-Key", RateLimitProfile.OPEN_KEY, "Sluice-Priority", "99"));
        answer.then().statusCode(200);
        assertThat(cache(answer)).isEqualTo("hit-l1");
    }

    @Test
    void hitsStillCountAgainstTheRateLimit() {
        Await.serverReady();
        byte[] data = rows(1);
        Map<String, String> oneToken = Map.of("X-API-Key", RateLimitProfile.ONE_TOKEN_KEY);
        assertThat(cache(binary("identity_fp32", data, oneToken))).isEqualTo("miss");
        CacheKey stored = keyOf("one-token", "identity_fp32", data);
        await().atMost(Duration.ofSeconds(5)).until(() -> inRedis(stored)); // its entry is there for it
        binary("identity_fp32", data, oneToken).then().statusCode(429);
    }

    private long batches() {
        HistogramSupport h = registry.find(MetricNames.BATCH_SIZE).tags(MetricNames.MODEL, "slow").summary();
        return h == null ? 0 : h.takeSnapshot().count();
    }

    private CacheKey keyOf(String model, byte[] data) {
        return keyOf(OPEN_TENANT, model, data);
    }

    private CacheKey keyOf(String tenant, String model, byte[] data) {
        Tensor input = new Tensor("INPUT0", Datatype.FP32, new long[] {data.length / 16, 4}, ByteBuffer.wrap(data));
        return CacheKey.of(tenant, model, "1", contents(model), new InferRequest(model, null, null, Map.of(), List.of(input), List.of(), 0,
                InferRequest.NO_DEADLINE, Protocol.REST));
    }

    private static <T> T withRedis(java.util.function.Function<Redis, T> call) {
        Vertx vertx = Vertx.vertx();
        Redis redis = Redis.createClient(vertx, RedisResource.redis().uri());
        try {
            return call.apply(redis);
        } finally {
            redis.close();
            vertx.closeAndAwait();
        }
    }
}
