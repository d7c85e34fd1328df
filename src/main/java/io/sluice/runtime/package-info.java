/**
 * ONNX Runtime through DJL: the engine ({@link io.sluice.runtime.OnnxEngine}, telemetry off), the
 * once-per-process GPU probe, session creation with the configured execution provider and thread
 * layout ({@link io.sluice.runtime.SessionLoader}), tensor conversion, and the instance threads
 * that are the only threads to run a session ({@link io.sluice.runtime.RuntimeThreads}), at a nice
 * value below the event loops' priority ({@link io.sluice.runtime.ThreadNice}; in a native executable
 * through {@code NativeThreadNice}, a GraalVM substitution).
 */
package io.sluice.runtime;
