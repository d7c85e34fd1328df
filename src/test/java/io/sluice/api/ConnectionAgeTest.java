package io.sluice.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Each connection is asked to go once, on its first request past its own age; the clock and the jitter are injected. */
class ConnectionAgeTest {

    private final AtomicLong now = new AtomicLong(1_000);
    private final ConnectionAge age = new ConnectionAge();

    ConnectionAgeTest() {
        age.clock = now::get;
        age.maxAgeNanos = Duration.ofMinutes(5).toNanos();
    }

    @Test
    void aConnectionIsAskedToGoOnceOnItsFirstRequestPastItsAge() {
        age.jitter = () -> 1.0;
        Object connection = new Object();

        assertThat(age.expired(connection)).as("first request: the age starts").isFalse();
        now.addAndGet(Duration.ofMinutes(5).toNanos() - 1);
        assertThat(age.expired(connection)).as("1 ns before its age").isFalse();
        now.addAndGet(1);
        assertThat(age.expired(connection)).as("at its age").isTrue();
        now.addAndGet(Duration.ofMinutes(10).toNanos());
        assertThat(age.expired(connection)).as("already asked").isFalse();
    }

    @Test
    void eachConnectionHasItsOwnAgeCountedFromItsFirstRequestAndSpreadByTheJitter() {
        Object early = new Object();
        Object late = new Object();
        age.jitter = () -> 0.9;
        age.expired(early);
        now.addAndGet(Duration.ofMinutes(1).toNanos());
        age.jitter = () -> 1.1;
        age.expired(late); // due 1 + 5.5 minutes from the start

        now.addAndGet(Duration.ofMinutes(3).toNanos()); // 4 minutes: neither (early is due at 4.5)
        assertThat(age.expired(early)).isFalse();
        assertThat(age.expired(late)).isFalse();
        now.addAndGet(Duration.ofSeconds(30).toNanos()); // 4.5
        assertThat(age.expired(early)).isTrue();
        assertThat(age.expired(late)).isFalse();
        now.addAndGet(Duration.ofMinutes(2).toNanos()); // 6.5
        assertThat(age.expired(late)).isTrue();
    }

    @Test
    void theJitterStaysWithinTenPercent() {
        ConnectionAge fresh = new ConnectionAge();
        for (int i = 0; i < 1_000; i++) {
            assertThat(fresh.jitter.getAsDouble()).isBetween(0.9, 1.1);
        }
    }
}
