/**
 * The Open Inference Protocol REST adapter ({@link io.sluice.api.rest.InferenceResource}, the JAX-RS resource):
 * JSON and the binary tensor extension in, the same out, and {@link io.sluice.api.rest.RestErrors}, the one REST
 * error mapper. Around it: {@link io.sluice.api.rest.RestAuthentication} authenticates every HTTP request (the
 * management paths too when {@code sluice.auth.management} is on); {@link
 * io.sluice.api.rest.RestBodyLimit} refuses a body whose declared length is over the limit before it is read,
 * and {@link io.sluice.api.rest.ContentEncoding} inflates a gzip or deflate body within it; a body that would hold an
 * event loop up for long is read on {@link io.sluice.api.LargeBodies}' threads. Nested JSON data must be
 * {@link io.sluice.api.rest.Rectangular}.
 * JSON answers print their floats with {@link io.sluice.api.rest.FloatText} straight into the answer's
 * buffer. Triton's model configuration and statistics extensions and its repository index are written by
 * {@link io.sluice.api.rest.ModelConfigJson}, {@link io.sluice.api.rest.ModelStatsJson} and {@link
 * io.sluice.api.rest.RepositoryIndexBody}. {@link io.sluice.api.rest.RouteTemplate} and {@link
 * io.sluice.api.rest.HttpMeterTags} keep the paths and methods clients make up out of the HTTP server meters' tags;
 * {@link io.sluice.api.rest.AllowHeader} names a path's methods on {@code OPTIONS}.
 * Adapters only translate; batching, limits and ONNX types never appear here.
 */
package io.sluice.api.rest;
