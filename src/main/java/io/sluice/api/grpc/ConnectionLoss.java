package io.sluice.api.grpc;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerResponse;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Tells a call on the grpc-java bridge that its HTTP/2 stream is gone without an answer: the connection closed or reset
 * (a client process killed, its pod deleted, an idle timeout) or the stream reset with any code. The bridge (vertx-grpc
 * 4.5) cancels a call only for a reset with CANCEL or CONNECT_ERROR; otherwise nothing reached the call, so a stream's
 * queued requests ran to the end, were counted as answered, and the stream stayed open until shutdown. (A network that
 * drops packets silently closes nothing: that loss shows only when the connection times out.) The route in front of
 * the bridge ({@link GrpcEncodings}) {@linkplain #watch watches} each call's response and keeps the watch on the
 * request's Vert.x context (each HTTP/2 stream has its own duplicated context, on which the bridge starts the call at
 * once), where {@link CallCancellation} finds it as the call starts and gives it the call's cancel.
 *
 * <p>The response has one close handler: neither vertx-grpc 4.5 nor quarkus-grpc 3.33 sets one on a gRPC call, and
 * something that did later (vertx-web's {@code addEndHandler}) would replace this one. The cancel runs on the stream's
 * event loop, as the bridge's own callbacks do, and reaches the call's listener below Quarkus's own interceptors (no
 * request context is active): what it runs, the service's cancellation, uses no request-scoped bean.
 */
final class ConnectionLoss {

    private static final Object KEY = ConnectionLoss.class;
    private static final Runnable LOST = () -> { };

    /** The call's cancel once the call has started; {@link #LOST} once the stream is gone. */
    private final AtomicReference<Runnable> cancel = new AtomicReference<>();

    private ConnectionLoss() {}

    /** Watches {@code response}'s stream for the current request's call, which {@link #onLoss} then registers with. */
    static void watch(HttpServerResponse response) {
        Context context = Vertx.currentContext();
        if (context == null) {
            return;
        }
        ConnectionLoss watch = new ConnectionLoss();
        context.putLocal(KEY, watch);
        response.closeHandler(v -> {
            if (!response.ended()) { // a call answered in full has nothing left to cancel
                watch.lost();
            }
        });
    }

    /**
     * Runs {@code cancel} when the current request's stream is lost without an answer, at once if it already was;
     * nothing outside a watched request.
     */
    static void onLoss(Runnable cancel) {
        Context context = Vertx.currentContext();
        if (context != null && context.getLocal(KEY) instanceof ConnectionLoss watch
                && !watch.cancel.compareAndSet(null, cancel) && watch.cancel.get() == LOST) {
            cancel.run();
        }
    }

    private void lost() {
        Runnable registered = cancel.getAndSet(LOST);
        if (registered != null && registered != LOST) {
            registered.run();
        }
    }
}
