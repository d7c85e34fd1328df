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

        assertThat(age.age(connection)).as("first request: the age starts").isEqualTo(ConnectionAge.Age.LIVE);
        now.addAndGet(Duration.ofMinutes(5).toNanos() - 1);
        assertThat(age.age(connection)).as("1 ns before its age").isEqualTo(ConnectionAge.Age.LIVE);
        now.addAndGet(1);
        assertThat(age.age(connection)).as("at its age").isEqualTo(ConnectionAge.Age.DUE);
        now.addAndGet(Duration.ofMinutes(10).toNanos());
        assertThat(age.age(connection)).as("already asked").isEqualTo(ConnectionAge.Age.ASKED);
    }

    @Test
    void eachConnectionHasItsOwnAgeCountedFromItsFirstRequestAndSpreadByTheJitter() {
        Object early = new Object();
        Object late = new Object();
        age.jitter = () -> 0.9;
        age.age(early);
        now.addAndGet(Duration.ofMinutes(1).toNanos());
        age.jitter = () -> 1.1;
        age.age(late); // due 1 + 5.5 minutes from the start

        now.addAndGet(Duration.ofMinutes(3).toNanos()); // 4 minutes: neither (early is due at 4.5)
        assertThat(age.age(early)).isEqualTo(ConnectionAge.Age.LIVE);
        assertThat(age.age(late)).isEqualTo(ConnectionAge.Age.LIVE);
        now.addAndGet(Duration.ofSeconds(30).toNanos()); // 4.5
        assertThat(age.age(early)).isEqualTo(ConnectionAge.Age.DUE);
        assertThat(age.age(late)).isEqualTo(ConnectionAge.Age.LIVE);
        now.addAndGet(Duration.ofMinutes(2).toNanos()); // 6.5
        assertThat(age.age(late)).isEqualTo(ConnectionAge.Age.DUE);
    }

    @Test
    void theJitterStaysWithinTenPercent() {
        ConnectionAge fresh = new ConnectionAge();
        for (int i = 0; i < 1_000; i++) {
            assertThat(fresh.jitter.getAsDouble()).isBetween(0.9, 1.1);
        }
    }
}
