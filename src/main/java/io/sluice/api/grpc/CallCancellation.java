package io.sluice.api.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.quarkus.grpc.GlobalInterceptor;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Carries a client's cancellation to the service. Quarkus's Mutiny server stubs do not cancel the
 * returned {@code Uni} when the call is cancelled, so this interceptor gives each call a {@link
 * Hook} in its gRPC context and fires it from the listener's {@code onCancel}, which the bridge calls for a reset with
 * CANCEL, and {@link ConnectionLoss} when the call's stream is lost otherwise (once, whichever comes first).
 */
@GlobalInterceptor
@ApplicationScoped
public class CallCancellation implements ServerInterceptor {

    private static final Context.Key<Hook> HOOK = Context.key("sluice-call-cancellation");

    /** One call's cancellation: an action registered by the service, run at most once. */
    static final class Hook {
        private static final Runnable CANCELLED = () -> { };
        private final AtomicReference<Runnable> action = new AtomicReference<>();

        /** Runs {@code onCancel} when the call is cancelled, at once if it already was. */
        void onCancel(Runnable onCancel) {
            if (!action.compareAndSet(null, onCancel) && action.get() == CANCELLED) {
                onCancel.run();
            }
        }

        void cancel() {
            Runnable registered = action.getAndSet(CANCELLED);
            if (registered != null && registered != CANCELLED) {
                registered.run();
            }
        }
    }

    /** The current call's hook; a detached one outside a call. */
    static Hook current() {
        Hook hook = HOOK.get();
        return hook == null ? new Hook() : hook;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        Hook hook = new Hook();
        ServerCall.Listener<Q> listener = Contexts.interceptCall(Context.current().withValue(HOOK, hook), call, headers, next);
        AtomicBoolean cancelled = new AtomicBoolean();
        ServerCall.Listener<Q> cancellable = new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
            @Override
            public void onCancel() {
                if (cancelled.compareAndSet(false, true)) { // the bridge's own, or the lost stream's, once
                    hook.cancel();
                    super.onCancel();
                }
            }
        };
        // on the stream's event loop, as the bridge's own callbacks
        ConnectionLoss.onLoss(cancellable::onCancel);
        return cancellable;
    }
}
