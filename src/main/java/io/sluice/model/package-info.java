/**
 * Models: the repository layout and name rules, and which versions each model's policy serves ({@link
 * io.sluice.model.ModelRepository}), the registry of served versions, the lifecycle (LOADING, WARMING,
 * READY or FAILED) driven by {@link io.sluice.model.ModelLoader}, the load's check that a variable first
 * dimension is a batch ({@link io.sluice.model.RowIndependence}), warmup through the real execution path,
 * the digest of a version's files that response-cache keys carry ({@link io.sluice.model.ModelContents}),
 * and the health checks that derive readiness from it.
 */
package io.sluice.model;
