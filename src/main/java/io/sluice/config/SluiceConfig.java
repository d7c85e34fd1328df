package io.sluice.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The whole configuration surface of Sluice under {@code sluice.*}. Per-model settings follow the
 * "defaults + named overrides" shape: {@code sluice.model-defaults.*} applies to every model and
 * {@code sluice.models."<name>".*} overrides single values for one model; {@link ModelSettings}
 * resolves the two.
 */
@ConfigMapping(prefix = "sluice")
public interface SluiceConfig {

    /** Where models come from. */
    Repository repository();

    /** Settings every model gets unless it overrides them. */
    @WithName("model-defaults")
    ModelConfig modelDefaults();

    /** Per-model overrides, keyed by model name. */
    Map<String, ModelConfig> models();

    /** What {@code GET /v2} reports. */
    Server server();

    /** API keys: who is calling. */
    Auth auth();

    /** The response cache tiers, shared by every model that turns its cache on. */
    Cache cache();

    /** Bounds on what one request may hold, besides the transports' size limits. */
    Limits limits();

    /** Bounds on what one request may hold. */
    interface Limits {
        /**
         * The most BYTES elements one request's inputs may hold together. Each becomes a Java string on its way to
         * ONNX Runtime (some 48 bytes besides its text) and a native string there, so without a bound 64 MB of
         * empty elements (4 bytes each on the wire) would take over a gigabyte. More is refused with 413 /
         * RESOURCE_EXHAUSTED.
         */
        @WithName("max-bytes-elements")
        @WithDefault("1048576")
        int maxBytesElements();
    }

    /** How gRPC is served. */
    Grpc grpc();

    /** How gRPC is served. */
    interface Grpc {
        /**
         * Whether {@code ModelInfer} and {@code ModelStreamInfer} are served straight on the HTTP server's router
         * (the message framed, inflated and read there; a {@code ModelInfer} answer encoded once, into a buffer of
         * its size) rather than through Quarkus's grpc-java bridge; calls they do not take (not HTTP/2, another
         * content type, an encoding other than identity, gzip or deflate) go to the bridge either way.
         */
        @WithName("direct-infer")
        @WithDefault("true")
        boolean directInfer();

        /** Requests of one {@code ModelStreamInfer} stream the server reads ahead of the answers it has sent. */
        @WithName("stream-window")
        @WithDefault("256")
        int streamWindow();

        /**
         * Bytes of those requests: the server reads no further while a stream's unanswered requests take this
         * many, so a stream holds at most this plus one message ({@code quarkus.grpc.server.max-inbound-message-size}).
         */
        @WithName("stream-window-bytes")
        @WithDefault("67108864")
        long streamWindowBytes();
    }

    /** Response cache tiers: L1 in this process, L2 in Redis. */
    interface Cache {
        /** In-process tier. */
        L1 l1();

        /** Shared tier in Redis. */
        L2 l2();

        /** L1: bounded by the bytes of the outputs it holds. */
        interface L1 {
            /** Most bytes of cached outputs. */
            @WithName("max-bytes")
            @WithDefault("67108864")
            long maxBytes();

            /** How long an entry lives after it was written. */
            @WithDefault("10m")
            Duration ttl();
        }

        /** L2: binary values in Redis (the connection is the {@code cache} client's, {@code quarkus.redis.cache.*}). */
        interface L2 {
            /** Off by default. */
            @WithDefault("false")
            boolean enabled();

            /** How long an entry lives in Redis. */
            @WithDefault("1h")
            Duration ttl();

            /** Larger responses are not written to Redis. */
            @WithName("max-entry-bytes")
            @WithDefault("1048576")
            int maxEntryBytes();

            /** Longest a request waits for Redis before it goes to the model. */
            @WithDefault("20ms")
            Duration timeout();

            /** After a failure, how long to skip Redis before trying again. */
            @WithName("retry-interval")
            @WithDefault("1s")
            Duration retryInterval();

            /** Prefix of every entry's key. */
            @WithName("key-prefix")
            @WithDefault("sluice:cache:")
            String keyPrefix();
        }
    }

    /** Tenants keyed by name: their API key hashes, rate limits and priority levels. */
    Map<String, TenantConfig> tenants();

    /** Token-bucket rate limits per tenant. */
    @WithName("rate-limit")
    RateLimit rateLimit();

    /** Authentication of callers by API key ({@code Authorization: Bearer <key>} or {@code X-API-Key}). */
    interface Auth {
        /** When on, the inference API answers 401 / UNAUTHENTICATED without a known key. */
        @WithDefault("false")
        boolean enabled();

        /** When on (and auth is on), health, metrics and other management endpoints need a key too. */
        @WithDefault("false")
        boolean management();
    }

    /** One tenant. */
    interface TenantConfig {
        /** Lower-case hex SHA-256 of each API key of this tenant; keys themselves are never configured. */
        @WithName("api-key-sha256")
        Optional<List<String>> apiKeySha256();

        /** The tenant's bucket for every model; else {@code sluice.rate-limit.default}. */
        @WithName("rate-limit")
        Optional<Bucket> rateLimit();

        /** Per-model buckets of this tenant, keyed by model name; they replace the tenant's bucket for that model. */
        Map<String, Bucket> models();

        /** The priority levels this tenant's requests run at. */
        Priority priority();
    }

    /**
     * A tenant's priority levels (1 is the highest, as in Triton; a model has {@code batching.priority-levels}
     * of them). Neither is set by default: a request runs at the level it asks for, or its model's default.
     */
    interface Priority {
        /** The level of this tenant's requests that ask for none (priority 0, or no parameter or header). */
        @WithName("default")
        Optional<Integer> defaultLevel();

        /** The highest level this tenant may ask for: a request asking for a higher one runs at this one. */
        Optional<Integer> highest();
    }

    /** A token bucket: {@code rate} tokens per second, up to {@code burst}. */
    interface Bucket {
        /** Requests per second, sustained. */
        double rate();

        /** Requests at once after a quiet spell; defaults to one second of rate. */
        Optional<Integer> burst();
    }

    /** Rate limiting. */
    interface RateLimit {
        /** Off by default: no bucket is consulted. */
        @WithDefault("false")
        boolean enabled();

        /** Where buckets live: {@code local} to this process, or {@code redis}, shared by all replicas. */
        @WithDefault("local")
        BucketStore store();

        /** The bucket of tenants that configure none, the anonymous tenant included. */
        @WithName("default")
        Optional<Bucket> defaultBucket();

        /** Shared buckets in Redis (the connection itself is the {@code buckets} client's, {@code quarkus.redis.buckets.*}). */
        Redis redis();

        /** Redis bucket settings. */
        interface Redis {
            /** Longest a request waits for Redis before it uses the local fallback bucket. */
            @WithDefault("25ms")
            Duration timeout();

            /** After a failure, how long to use the fallback before trying Redis again. */
            @WithName("retry-interval")
            @WithDefault("1s")
            Duration retryInterval();

            /**
             * Replicas sharing the buckets; the fallback bucket gets rate / replicas (its fair share). Unset,
             * they are counted in Redis ({@code io.sluice.admission.ReplicaCount}).
             */
            Optional<Integer> replicas();

            /** Prefix of every bucket key. */
            @WithName("key-prefix")
            @WithDefault("sluice:rl:")
            String keyPrefix();
        }
    }

    /** The model repositories. */
    interface Repository {
        /**
         * Directories laid out as {@code <model>/<version>/model.onnx}; all are served. A directory that is
         * itself one model ({@code model.onnx}, or {@code <version>/model.onnx}, in it) is served as {@link
         * #modelName()}.
         */
        @WithDefault("target/model-repository")
        List<String> paths();

        /**
         * The name of a repository directory that is itself one model, as KServe lays one out in {@code
         * /mnt/models}; the directory's own name when unset. The KServe runtime sets it to the
         * InferenceService's name.
         */
        @WithName("model-name")
        Optional<String> modelName();

        /**
         * Model versions loaded and warmed at once at startup, as Triton's {@code --model-load-thread-count} (4
         * there too): one slow or hung session creation holds back only its own thread.
         */
        @WithName("load-threads")
        @WithDefault("4")
        int loadThreads();

        /**
         * The longest one version's session creation may take before the version FAILs and its loader thread goes
         * on to the next version; the creation itself cannot be stopped, and a session it makes after that is
         * closed. Unset, no limit (as Triton): a creation that hangs holds its loader thread for good.
         */
        @WithName("session-timeout")
        Optional<Duration> sessionTimeout();

        /**
         * Whether {@code /q/health/live} reports DOWN while a required model has no version but FAILED ones, so
         * that the kubelet restarts the pod (with its back-off) instead of leaving it not ready for good: a load
         * is never retried in the process, and a failure may be passing (a GPU out of memory, a volume read
         * error). Triton exits at start on a model that fails to load ({@code --exit-on-error}, on by default);
         * {@code false} keeps the process up and not ready, to look at.
         */
        @WithName("restart-on-failed-load")
        @WithDefault("true")
        boolean restartOnFailedLoad();
    }

    /** Server identity. */
    interface Server {
        /** The server name in {@code GET /v2}. */
        @WithDefault("sluice")
        String name();

        /** The server version in {@code GET /v2}. */
        @WithDefault("0.1.0")
        String version();

        /**
         * How long a client connection is used before the server asks the client to open a new one: the first request
         * after this age (less or more by up to 10 %, so that a fleet's connections do not all turn over at once) gets
         * {@code Connection: close} on HTTP/1.1 and a GOAWAY on HTTP/2, which lets the calls already open on the
         * connection finish. Behind a Service that balances connections, this is how replicas the autoscaler adds get
         * a share of long-lived gRPC clients. Unset (the default), connections live as long as their clients keep them.
         */
        @WithName("max-connection-age")
        Optional<Duration> maxConnectionAge();
    }
}
