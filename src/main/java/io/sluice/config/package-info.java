/**
 * Configuration: {@link io.sluice.config.SluiceConfig} is the whole {@code sluice.*} surface, and
 * {@link io.sluice.config.ModelSettings} resolves one model's settings from its override, the
 * model defaults and the named constants, among them the {@link io.sluice.config.VersionPolicy} that
 * chooses which of a model's versions are served. {@link io.sluice.config.RedisClients} names the two Redis
 * clients, the buckets' and the cache's, and {@link io.sluice.config.RedisWarmup} opens each at startup when it is
 * used.
 */
package io.sluice.config;
