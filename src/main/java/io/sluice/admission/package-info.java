/**
 * Admission: who may send how much, and how much a model takes at once. Owns the tenants and their
 * API keys ({@link io.sluice.admission.Tenants}) and the priority levels their requests run at ({@link
 * io.sluice.admission.TenantPriorities}), the token buckets, local ({@link
 * io.sluice.admission.TokenBucket}) and shared in Redis ({@link io.sluice.admission.RedisBuckets}),
 * the limiter that chooses between them and falls back when Redis is away ({@link
 * io.sluice.admission.RateLimiter}) to a fair share for the replicas counted in Redis ({@link
 * io.sluice.admission.ReplicaCount}), and each model's SmallRye Fault Tolerance guard: bulkhead,
 * timeout and circuit breaker, and the place a full model gives a higher priority level by answering a
 * queued request of a lower one ({@link io.sluice.admission.ModelGuard}), with its mirror of the breaker's state
 * ({@link io.sluice.admission.CircuitMirror}) and the 503s and 504s it answers ({@link
 * io.sluice.admission.Rejections}), the short queue it keeps after an overflow until the model catches up ({@link
 * io.sluice.admission.ShedMode}), and the optional adaptive concurrency limit in front of it ({@link
 * io.sluice.admission.AdaptiveLimit}), told how each admitted request ended ({@link
 * io.sluice.admission.AdaptiveOutcome}). Everything here decides before any work is done.
 */
package io.sluice.admission;
