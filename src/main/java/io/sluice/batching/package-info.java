/**
 * Scheduling per model: a bounded priority queue (FIFO within a level; a full one, or a full guard, takes a
 * lower level's newest request out for a higher arrival), the dynamic batcher that
 * forms batches of requests with matching non-batch dimensions, and the instance threads that run
 * them and split outputs back to each request (or lend their place to the submitting thread for a
 * run short enough ({@code CallerRuns}, which the {@code CallerWatch} stops and hands back when it overruns)).
 * {@code ModelScheduler} decides; {@code BatchExecutor} runs a batch and answers its requests, whatever fails;
 * {@code RunMeters} keeps the instances' run and idle times and what a run costs. No protocol types and no ONNX types
 * live here.
 */
package io.sluice.batching;
