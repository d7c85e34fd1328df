package io.sluice.api.grpc;

import io.quarkus.runtime.ShutdownDelayInitiatedEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The {@code ModelStreamInfer} streams open now, so that a shutdown can end them. A stream lives as long
 * as its client keeps it, and Quarkus's drain waits for every HTTP request in flight, an open stream
 * included: without this, one idle stream would hold the pod until {@code quarkus.shutdown.timeout}
 * and its client would be cut off, not told. When the shutdown delay starts (readiness goes down), each
 * stream answers what it has taken and then ends with UNAVAILABLE, so its client opens a new one on
 * another replica; a stream opened during the delay is ended at once.
 */
@ApplicationScoped
public class OpenStreams {

    private final Set<StreamAnswers> open = ConcurrentHashMap.newKeySet();
    private volatile boolean closing;

    /** Keeps {@code stream} until it ends; one opened while the server shuts down is told to close at once. */
    void opened(StreamAnswers stream) {
        open.add(stream);
        if (closing) {
            stream.close();
        }
    }

    void ended(StreamAnswers stream) {
        open.remove(stream);
    }

    void onShutdownDelay(@Observes ShutdownDelayInitiatedEvent event) {
        closing = true;
        open.forEach(StreamAnswers::close);
    }

    /** How many streams are open (for tests). */
    int count() {
        return open.size();
    }
}
