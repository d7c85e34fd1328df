/**
 * The response cache, for models that opt in: a canonical SHA-256 key over the request and the
 * version's files and provider ({@link io.sluice.cache.CacheKey}), an in-process tier bounded by bytes
 * (Caffeine), a shared tier in Redis ({@link io.sluice.cache.RedisTier}) that fails open, and
 * coalescing of identical requests of one priority in flight ({@link io.sluice.cache.ResponseCache}).
 * It sits after the rate limit (hits still count against the tenant) and before the model's guard.
 */
package io.sluice.cache;
