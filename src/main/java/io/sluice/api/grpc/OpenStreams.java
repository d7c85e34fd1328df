package io.sluice.api.grpc;

import io.quarkus.runtime.ShutdownDelayInitiatedEvent;
import io.vertx.core.Vertx;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * The {@code ModelStreamInfer} streams open now, so that a shutdown can end them. A stream lives as long
 * as its client keeps it, and Quarkus's drain waits for every HTTP request in flight, an open stream
 * included: without this, one idle stream would hold the pod until {@code quarkus.shutdown.timeout}
 * and its client would be cut off, not told. When the shutdown delay ends (readiness has been down for
 * {@code quarkus.shutdown.delay}, so the endpoints no longer send new connections here), each stream
 * answers what it has taken and then ends with UNAVAILABLE, so its client opens a new one; a stream opened
 * after that is ended at once, and Quarkus answers its connection with a GOAWAY, so the next one goes to
 * another replica. During the delay, streams are served as unary calls are.
 */
@ApplicationScoped
public class OpenStreams {

    private static final Logger LOG = Logger.getLogger(OpenStreams.class);

    @Inject
    Vertx vertx;

    @ConfigProperty(name = "quarkus.shutdown.delay")
    Optional<Duration> delay;

    private final Set<StreamAnswers> open = new HashSet<>();
    private boolean closing;

    /** Keeps {@code stream} until it ends; one opened once the streams are closing is told to close at once. */
    void opened(StreamAnswers stream) {
        synchronized (this) {
            if (!closing) {
                open.add(stream);
                return;
            }
        }
        stream.close();
    }

    synchronized void ended(StreamAnswers stream) {
        open.remove(stream);
    }

    /** Readiness went down: the streams close when the delay is over, as the shutdown proper begins. */
    void onShutdownDelay(@Observes ShutdownDelayInitiatedEvent event) {
        long millis = delay.map(Duration::toMillis).orElse(0L);
        if (millis > 0) {
            vertx.setTimer(millis, id -> closeAll());
        } else {
            closeAll();
        }
    }

    /** Ends every open stream once it has answered what it took; later ones are ended at once. */
    void closeAll() {
        List<StreamAnswers> streams;
        synchronized (this) {
            closing = true;
            streams = new ArrayList<>(open);
        }
        for (StreamAnswers stream : streams) {
            try {
                stream.close();
            } catch (RuntimeException e) { // one stream's failure must not keep the others open
                LOG.warnf(e, "could not end a ModelStreamInfer stream at shutdown");
            }
        }
    }

    /** How many streams are open (for tests). */
    synchronized int count() {
        return open.size();
    }
}
