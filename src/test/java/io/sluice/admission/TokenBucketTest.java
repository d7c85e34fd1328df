package io.sluice.admission;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The local bucket on an injected clock: burst, refill, and the wait it reports. */
class TokenBucketTest {

    private final AtomicLong nanos = new AtomicLong(1_000_000_000L);

    @Test
    void aFullBucketGivesItsBurstThenRefusesWithTheExactWait() {
        TokenBucket bucket = new TokenBucket(new Limit(2, 3), nanos::get);
        assertThat(bucket.take()).extracting(Take::allowed, Take::remaining).containsExactly(true, 2L);
        assertThat(bucket.take()).extracting(Take::allowed, Take::remaining).containsExactly(true, 1L);
        assertThat(bucket.take()).extracting(Take::allowed, Take::remaining).containsExactly(true, 0L);
        Take refused = bucket.take();
        assertThat(refused.allowed()).isFalse();
        assertThat(refused.retryAfter()).isEqualTo(Duration.ofMillis(500)); // 2 tokens/s: one in half a second
    }

    @Test
    void aTokenGivenBackIsThereForTheNextTakeButNeverAboveTheBurst() {
        TokenBucket bucket = new TokenBucket(new Limit(2, 2), nanos::get);
        assertThat(bucket.take().allowed()).isTrue();
        assertThat(bucket.take().allowed()).isTrue();
        bucket.giveBack(); // the second request was one its model could not serve (a 503)
        assertThat(bucket.take()).extracting(Take::allowed, Take::remaining).containsExactly(true, 0L);
        assertThat(bucket.take().allowed()).isFalse();
        nanos.addAndGet(250_000_000L); // half a token refilled before the give-back: it counts on top of that
        bucket.giveBack();
        Take after = bucket.take();
        assertThat(after).extracting(Take::allowed, Take::remaining).containsExactly(true, 0L);
        assertThat(after.retryAfter()).isEqualTo(Duration.ofMillis(250)); // half a token left, at 2 a second
        nanos.addAndGet(10_000_000_000L); // full again; a give-back now is lost, not a third token
        bucket.giveBack();
        assertThat(bucket.take().remaining()).isEqualTo(1L);
    }

    @Test
    void atMostLowersTheTokensToAFractionOfTheBurstAndNeverRaisesThem() {
        TokenBucket bucket = new TokenBucket(new Limit(2, 10), nanos::get);
        bucket.atMost(0.25); // a quarter of 10
        assertThat(bucket.take()).extracting(Take::allowed, Take::remaining).containsExactly(true, 1L);
        assertThat(bucket.take().allowed()).isTrue();
        assertThat(bucket.take().allowed()).isFalse(); // half a token left
        bucket.atMost(2.0);
        nanos.addAndGet(250_000_000L); // half a token more
        assertThat(bucket.take()).extracting(Take::allowed, Take::remaining).containsExactly(true, 0L);
    }

    @Test
    void aClockThatWrapsPastLongMaxStillRefills() {
        nanos.set(Long.MAX_VALUE - 100_000_000L);
        TokenBucket bucket = new TokenBucket(new Limit(2, 1), nanos::get);
        assertThat(bucket.take().allowed()).isTrue();
        assertThat(bucket.take().allowed()).isFalse();
        nanos.addAndGet(500_000_000L); // past Long.MAX_VALUE: negative, yet half a second later
        assertThat(bucket.take().allowed()).isTrue();
    }

    @Test
    void aRefusalSaysNoTokenIsLeftAndAWaitWhateverRoundingBroughtTheBucketTo() {
        Limit limit = new Limit(3, 3);
        Take refused = Take.of(limit, false, 1.0); // a store that rounded 0.99999999999999989 up
        assertThat(refused.remaining()).isZero();
        assertThat(refused.retryAfter()).isPositive();
        assertThat(Take.of(limit, false, 0.0).retryAfterMillis()).isEqualTo(334); // 333.33 ms, rounded up
        assertThat(Take.of(limit, true, 1.5)).extracting(Take::remaining, Take::retryAfter)
                .containsExactly(1L, Duration.ZERO);
    }

    @Test
    void aReshapedBucketKeepsTheFractionOfItsBurstItHeld() {
        TokenBucket whole = new TokenBucket(new Limit(4, 4), nanos::get);
        whole.take();
        whole.take();
        whole.take(); // 1 of 4 left
        TokenBucket half = whole.reshaped(new Limit(2, 2)); // a second replica counted: half the rate and burst
        assertThat(half.take()).extracting(Take::allowed, Take::remaining).containsExactly(false, 0L); // 0.5 of 2
        nanos.addAndGet(250_000_000L); // 2 tokens/s: the other half
        assertThat(half.take()).extracting(Take::allowed, Take::remaining).containsExactly(true, 0L);
        TokenBucket back = half.reshaped(new Limit(4, 4)); // the count falls back: empty stays empty, not a new burst
        assertThat(back.take().allowed()).isFalse();
    }

    @Test
    void tokensComeBackAtTheRateAndNeverAboveTheBurst() {
        TokenBucket bucket = new TokenBucket(new Limit(2, 3), nanos::get);
        for (int i = 0; i < 3; i++) {
            bucket.take();
        }
        nanos.addAndGet(250_000_000L); // half a token
        Take early = bucket.take();
        assertThat(early.allowed()).isFalse();
        assertThat(early.retryAfter()).isEqualTo(Duration.ofMillis(250));
        nanos.addAndGet(250_000_000L); // now one whole token
        assertThat(bucket.take().allowed()).isTrue();
        nanos.addAndGet(60_000_000_000L); // a minute: refills to the burst, not to 120
        assertThat(bucket.take().remaining()).isEqualTo(2);
    }

    @Test
    void aClockThatGoesBackDoesNotRefill() {
        TokenBucket bucket = new TokenBucket(new Limit(1, 1), nanos::get);
        assertThat(bucket.take().allowed()).isTrue();
        nanos.addAndGet(-5_000_000_000L);
        assertThat(bucket.take().allowed()).isFalse();
    }

    @Test
    void theFallbackShareDividesRateAndBurstAmongReplicas() {
        Limit limit = new Limit(30, 90);
        assertThat(limit.share(3)).isEqualTo(new Limit(10, 30));
        assertThat(limit.share(1)).isSameAs(limit);
        assertThat(limit.windowSeconds()).isEqualTo(3);
    }
}
