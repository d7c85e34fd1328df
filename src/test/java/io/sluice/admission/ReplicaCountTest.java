package io.sluice.admission;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.TestRedis;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.redis.client.Redis;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Replicas counted in a real Redis, on an injected clock. */
class ReplicaCountTest {
    private static final Duration WAIT = Duration.ofSeconds(5);
    private static final Duration EXPIRY = Duration.ofSeconds(15);

    private TestRedis server;
    private Vertx vertx;
    private Redis redis;
    private final AtomicLong now = new AtomicLong(1_700_000_000_000L);

    @BeforeEach
    void start() {
        server = TestRedis.start();
        vertx = Vertx.vertx();
        redis = Redis.createClient(vertx, server.uri());
    }

    @AfterEach
    void stop() {
        redis.close();
        vertx.closeAndAwait();
        server.close();
    }

    private ReplicaCount replica() {
        return new ReplicaCount(redis, "sluice:rl:", EXPIRY, now::get);
    }

    @Test
    void replicasCountThemselvesAndDropOutWhenTheyStopStamping() {
        ReplicaCount a = replica();
        ReplicaCount b = replica();
        assertThat(a.current()).as("before any count").isEqualTo(1);
        assertThat(a.counted()).isFalse();

        assertThat(a.refresh().await().atMost(WAIT)).isEqualTo(1);
        assertThat(b.refresh().await().atMost(WAIT)).isEqualTo(2);
        assertThat(a.refresh().await().atMost(WAIT)).isEqualTo(2);
        assertThat(a.current()).isEqualTo(2);
        assertThat(a.counted()).isTrue();

        now.addAndGet(EXPIRY.toMillis() + 1); // b stopped stamping: gone once its last stamp is older than the expiry
        assertThat(a.refresh().await().atMost(WAIT)).isEqualTo(1);
    }

    @Test
    void whileRedisIsAwayTheLastCountHolds() {
        ReplicaCount a = replica();
        replica().refresh().await().atMost(WAIT);
        assertThat(a.refresh().await().atMost(WAIT)).isEqualTo(2);

        server.down();
        a.refresh().onFailure().recoverWithNull().await().atMost(WAIT);

        assertThat(a.current()).isEqualTo(2);
        // one that starts during the outage has never counted: its fallback would take the whole rate
        ReplicaCount late = replica();
        late.refresh().onFailure().recoverWithNull().await().atMost(WAIT);
        assertThat(late.counted()).isFalse();
        assertThat(late.current()).isEqualTo(1);
    }
}
