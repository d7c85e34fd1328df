/**
 * What the two protocol adapters share: the HTTP server's client connections, which carry REST and gRPC alike
 * ({@link io.sluice.api.ConnectionAge} turns them over at their maximum age), and reading compressed requests, REST
 * bodies and gRPC messages alike, exactly ({@link io.sluice.api.Inflating}), and the threads a request too large to
 * read on an event loop is read on ({@link io.sluice.api.LargeBodies}). The adapters themselves are {@code
 * api.rest} and {@code api.grpc}.
 */
package io.sluice.api;
