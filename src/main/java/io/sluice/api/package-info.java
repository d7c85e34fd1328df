/**
 * What the two protocol adapters share: the HTTP server's client connections, which carry REST and gRPC alike
 * ({@link io.sluice.api.ConnectionAge} turns them over at their maximum age). The adapters themselves are {@code
 * api.rest} and {@code api.grpc}.
 */
package io.sluice.api;
