package io.sluice.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.UniSubscriber;
import io.smallrye.mutiny.subscription.UniSubscription;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * The Mutiny contract that {@code ServedModel} and {@code ModelGuard} rely on when a caller goes away before
 * their emitter has registered its termination callback: Mutiny still subscribes the emitter, and a callback
 * registered on an emitter already cancelled runs at once, on the registering thread. Without that, a job
 * would be queued for nobody and a bulkhead permit would never come back. Pinned here so that a Mutiny upgrade
 * that changes it fails a test instead of leaking permits.
 */
class EmitterCancelContractTest {

    @Test
    void aTerminationCallbackRegisteredAfterTheCancelRunsAtOnce() {
        List<String> seen = new CopyOnWriteArrayList<>();
        Uni.createFrom().<String>emitter(emitter -> {
            seen.add("emitter started");
            emitter.onTermination(() -> seen.add("termination"));
            seen.add("registered");
            emitter.complete("too late"); // the caller is gone: not delivered
        }).subscribe().withSubscriber(new UniSubscriber<String>() {
            @Override
            public void onSubscribe(UniSubscription subscription) {
                subscription.cancel(); // gone before the emitter's code runs
            }

            @Override
            public void onItem(String item) {
                seen.add("item " + item);
            }

            @Override
            public void onFailure(Throwable failure) {
                seen.add("failure " + failure);
            }
        });
        assertThat(seen).containsExactly("emitter started", "termination", "registered");
    }

    @Test
    void aCallbackRegisteredBeforeTheCancelRunsOnceAtTheCancel() {
        List<String> seen = new CopyOnWriteArrayList<>();
        UniSubscription[] held = new UniSubscription[1];
        Uni.createFrom().<String>emitter(emitter -> emitter.onTermination(() -> seen.add("termination")))
                .subscribe().withSubscriber(new UniSubscriber<String>() {
                    @Override
                    public void onSubscribe(UniSubscription subscription) {
                        held[0] = subscription;
                    }

                    @Override
                    public void onItem(String item) {
                        seen.add("item");
                    }

                    @Override
                    public void onFailure(Throwable failure) {
                        seen.add("failure");
                    }
                });
        assertThat(seen).isEmpty();
        held[0].cancel();
        held[0].cancel();
        assertThat(seen).containsExactly("termination");
    }
}
