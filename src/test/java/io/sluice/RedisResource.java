package io.sluice;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.util.Map;

/** Starts a real redis-server ({@link TestRedis}) before Quarkus and points the Redis client at it. */
public class RedisResource implements QuarkusTestResourceLifecycleManager {

    private static volatile TestRedis redis;

    /** The running server, for tests that stop and restart it. */
    public static TestRedis redis() {
        return redis;
    }

    @Override
    public Map<String, String> start() {
        redis = TestRedis.start();
        return Map.of("quarkus.redis.hosts", redis.uri());
    }

    @Override
    public void stop() {
        if (redis != null) {
            redis.close();
        }
    }
}
