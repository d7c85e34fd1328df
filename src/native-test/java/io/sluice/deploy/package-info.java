/**
 * Suites about the packaged artifact as a process and as a deployment: graceful shutdown on SIGTERM,
 * the model threads' priorities, and the generated manifests against the committed ones.
 */
package io.sluice.deploy;
