package io.sluice.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.sluice.TestRedis;
import io.sluice.inference.Datatype;
import io.sluice.inference.InferRequest;
import io.sluice.inference.Protocol;
import io.sluice.inference.Tensor;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Redis;
import io.vertx.mutiny.redis.client.Request;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The Redis tier against a real redis-server. */
class RedisTierTest {
    private static final Duration WAIT = Duration.ofSeconds(5);

    private TestRedis server;
    private Vertx vertx;
    private Redis redis;
    private RedisTier tier;

    @BeforeEach
    void start() {
        server = TestRedis.start();
        vertx = Vertx.vertx();
        redis = Redis.createClient(vertx, server.uri());
        tier = new RedisTier(redis, "t:", Duration.ofMinutes(1), 1 << 20, Duration.ofSeconds(2), Duration.ofHours(1),
                System::nanoTime);
    }

    @AfterEach
    void stop() {
        redis.close();
        vertx.closeAndAwait();
        server.close();
    }

    private static CacheKey key(int value) {
        Tensor x = new Tensor("X", Datatype.INT32, new long[] {1}, ByteBuffer.allocate(4).putInt(0, value));
        return CacheKey.of("t", "m", "1", "c", new InferRequest("m", null, null, Map.of(), List.of(x), List.of(), 0,
                InferRequest.NO_DEADLINE, Protocol.REST));
    }

    @Test
    void aWriteRedisRefusesLeavesReadsOn() {
        assertThat(tier.put(key(1), new byte[] {1, 2, 3}).await().atMost(WAIT)).isTrue();
        // Redis full, evicting nothing: it refuses writes (OOM) and still serves reads
        redis.send(Request.cmd(Command.CONFIG).arg("SET").arg("maxmemory").arg("1")).await().atMost(WAIT);

        assertThat(tier.put(key(2), new byte[] {4, 5, 6}).await().atMost(WAIT)).isFalse();

        RedisTier.Found found = tier.get(key(1)).await().atMost(WAIT);
        assertThat(found.lookup()).isEqualTo(RedisTier.Lookup.HIT);
        assertThat(found.bytes()).containsExactly(1, 2, 3);
    }

    @Test
    void aRedisThatIsGoneIsSkippedForTheRetryInterval() {
        assertThat(tier.put(key(1), new byte[] {1}).await().atMost(WAIT)).isTrue();
        server.down();
        assertThat(tier.get(key(1)).await().atMost(WAIT).lookup()).isEqualTo(RedisTier.Lookup.ERROR);
        server.up();
        // the retry interval is an hour: no attempt, not even a write, until it has passed
        assertThat(tier.put(key(2), new byte[] {2}).await().atMost(WAIT)).isFalse();
        assertThat(tier.get(key(1)).await().atMost(WAIT).lookup()).isEqualTo(RedisTier.Lookup.ERROR);
    }

    @Test
    void aRedisThatRefusesEveryCommandIsAnErrorNotAMissAndIsSkipped() {
        // a Redis that wants a password this client lacks answers every command with NOAUTH: as good as away
        try (TestRedis locked = TestRedis.startWith("requirepass s3cret")) {
            Redis noPassword = Redis.createClient(vertx, locked.uri());
            Redis admin = Redis.createClient(vertx, locked.uri().replace("redis://", "redis://:s3cret@"));
            try {
                RedisTier refused = new RedisTier(noPassword, "t:", Duration.ofMinutes(1), 1 << 20,
                        Duration.ofSeconds(2), Duration.ofHours(1), System::nanoTime);
                assertThat(refused.get(key(1)).await().atMost(WAIT).lookup()).isEqualTo(RedisTier.Lookup.ERROR);
                long refusals = errorReplies(admin);
                // skipped for the retry interval: not even a write is sent, so Redis refuses nothing more
                assertThat(refused.put(key(1), new byte[] {1}).await().atMost(WAIT)).isFalse();
                assertThat(refused.get(key(1)).await().atMost(WAIT).lookup()).isEqualTo(RedisTier.Lookup.ERROR);
                assertThat(errorReplies(admin)).isEqualTo(refusals);
            } finally {
                noPassword.close();
                admin.close();
            }
        }
    }

    /** The error replies Redis has sent since it started ({@code INFO stats}). */
    private static long errorReplies(Redis redis) {
        String stats = redis.send(Request.cmd(Command.INFO).arg("stats")).await().atMost(WAIT).toString();
        return stats.lines().filter(l -> l.startsWith("total_error_replies:"))
                .mapToLong(l -> Long.parseLong(l.substring(l.indexOf(':') + 1).trim())).findFirst().orElseThrow();
    }

    @Test
    void aKeyHoldingAnotherWritersValueOfAnotherTypeIsAMiss() {
        redis.send(Request.cmd(Command.LPUSH).arg("t:" + key(1).hex()).arg("x")).await().atMost(WAIT);
        assertThat(tier.get(key(1)).await().atMost(WAIT).lookup()).isEqualTo(RedisTier.Lookup.MISS);
        // Redis answered: it is not set aside, and the write replaces that value
        assertThat(tier.put(key(1), new byte[] {7}).await().atMost(WAIT)).isTrue();
        assertThat(tier.get(key(1)).await().atMost(WAIT).bytes()).containsExactly(7);
    }
    @Test
    void writesRedisHasNotAnsweredHoldNoMoreThanTheLimitAndGiveItBackOnceItAnswers() {
        // a write's caller stops waiting at the timeout; the write waits on, holding its bytes, until Redis answers
        RedisTier stalled = new RedisTier(redis, "t:", Duration.ofMinutes(1), 1 << 20, Duration.ofMillis(100), Duration.ZERO,
                System::nanoTime, 3L << 20);
        Redis other = Redis.createClient(vertx, server.uri());
        try {
            // Redis stalls its writers (reads and this client's UNPAUSE still go through)
            other.send(Request.cmd(Command.CLIENT).arg("PAUSE").arg(60_000).arg("WRITE")).await().atMost(WAIT);
            byte[] mib = new byte[1 << 20];
            for (int i = 0; i < 3; i++) {
                assertThat(stalled.put(key(i), mib).await().atMost(WAIT)).isFalse(); // timed out, still out
            }
            assertThat(stalled.pendingBytes()).isEqualTo(3L << 20);
            assertThat(stalled.takes(1)).isFalse();
            assertThat(stalled.put(key(3), new byte[] {3}).await().atMost(WAIT)).isFalse(); // not sent at all
            assertThat(stalled.pendingBytes()).isEqualTo(3L << 20);

            other.send(Request.cmd(Command.CLIENT).arg("UNPAUSE")).await().atMost(WAIT);
            await().atMost(Duration.ofSeconds(10)).until(() -> stalled.pendingBytes() == 0);
            assertThat(stalled.takes(1)).isTrue();
            assertThat(stalled.get(key(0)).await().atMost(WAIT).bytes()).hasSize(1 << 20); // the late writes landed
            assertThat(stalled.get(key(3)).await().atMost(WAIT).lookup()).isEqualTo(RedisTier.Lookup.MISS);
            assertThat(stalled.put(key(4), new byte[] {4}).await().atMost(WAIT)).isTrue();
        } finally {
            other.close();
        }
    }

    @Test
    void aValuePastThisReplicasEntryCapIsAMiss() {
        // another replica, whose l2.max-entry-bytes is higher, wrote it
        redis.send(Request.cmd(Command.SET).arg("t:" + key(1).hex()).arg(new byte[(1 << 20) + 1])).await().atMost(WAIT);
        assertThat(tier.get(key(1)).await().atMost(WAIT).lookup()).isEqualTo(RedisTier.Lookup.MISS);
        redis.send(Request.cmd(Command.SET).arg("t:" + key(2).hex()).arg(new byte[1 << 20])).await().atMost(WAIT);
        assertThat(tier.get(key(2)).await().atMost(WAIT).bytes()).hasSize(1 << 20); // at the cap: a hit
    }

    @Test
    void theLimitOfUnansweredWritesIsFourEntriesAndAtLeast16MiB() {
        assertThat(RedisTier.pendingLimit(1 << 20)).isEqualTo(16L << 20);
        assertThat(RedisTier.pendingLimit(64 << 20)).isEqualTo(256L << 20);
    }
}
