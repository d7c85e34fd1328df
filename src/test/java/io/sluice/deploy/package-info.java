/**
 * The deployment artifacts under {@code kubernetes/}: typed parsing of every manifest
 * ({@code KubernetesManifestsTest}), and, against the packaged artifact as a process of its own
 * ({@code PackagedArtifact}, in {@code src/native-test}), that the generated copies are current
 * ({@code DeploymentManifestsDriftIT}), that shutdown drains in-flight requests
 * ({@code GracefulShutdownIT}), and that model threads run at their nice value
 * ({@code ThreadPriorityIT}).
 */
package io.sluice.deploy;
