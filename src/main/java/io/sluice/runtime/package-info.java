/**
 * ONNX Runtime through DJL: the engine ({@link io.sluice.runtime.OnnxEngine}, telemetry off, its
 * environment held past ONNX Runtime's own shutdown hook by {@code EnvironmentHold}), the
 * once-per-process GPU probe, session creation with the configured execution provider and thread
 * layout ({@link io.sluice.runtime.SessionLoader}), tensor conversion, and the instance threads
 * that run a session ({@link io.sluice.runtime.RuntimeThreads}; besides them only an event loop running a tiny
 * model's lone request in an idle instance's place, {@code threads.event-loop-run-max-micros}), at a nice
 * value below the event loops' priority ({@link io.sluice.runtime.ThreadNice}; in a native executable
 * through {@code NativeThreadNice}, a GraalVM substitution). A session's runs can be stopped
 * ({@link io.sluice.runtime.OnnxSession#stopRuns()}) when a shutdown cannot wait for them.
 */
package io.sluice.runtime;
