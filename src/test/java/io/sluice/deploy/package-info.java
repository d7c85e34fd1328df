/**
 * The deployment artifacts under {@code kubernetes/}: typed parsing of every manifest
 * ({@code KubernetesManifestsTest}), and, against the packaged artifact, that the generated copies
 * are current ({@code DeploymentManifestsDriftIT}) and that shutdown drains in-flight requests
 * ({@code GracefulShutdownIT}).
 */
package io.sluice.deploy;
