package io.sluice.deploy;

import static io.sluice.deploy.Manifests.ROOT;
import static io.sluice.deploy.Manifests.one;
import static io.sluice.deploy.Manifests.read;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.SeccompProfile;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.autoscaling.v2.MetricSpec;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.sluice.config.ExecutionProvider;
import io.sluice.config.GpuUnavailablePolicy;
import io.sluice.config.ModelSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/**
 * Every manifest under {@code kubernetes/} parses into fabric8's typed model, and the values that
 * matter for serving are what the configuration and the admission capacity say they are.
 */
class KubernetesManifestsTest {

    private static final String GENERATED = "generated/kubernetes.yml";
    private static final String KNATIVE = "generated/knative.yml";
    private static final int PORT = 8080;

    @Test
    void everyManifestParsesIntoItsTypedClass() {
        List<Path> files = Manifests.files();
        assertThat(files).extracting(p -> ROOT.relativize(p).toString().replace('\\', '/')).contains(
                GENERATED, KNATIVE, "base/sluice-models-pvc.yaml", "base/sluice-pdb.yaml",
                "base/sluice-servicemonitor.yaml", "gpu/sluice-gpu.yaml", "cpu/sluice-hpa-cpu.yaml",
                "hpa/sluice-hpa-busy-instances.yaml", "keda/sluice-keda-scaledobject.yaml",
                "hpa/prometheus-adapter-rules.yaml", "sluice-prometheusrule.yaml",
                "kserve/sluice-servingruntime.yaml", "kserve/sluice-inferenceservice.yaml",
                "knative/sluice-podmonitor.yaml");
        for (Path file : files) {
            List<KubernetesResource> docs = read(file);
            assertThat(docs).as(file.toString()).isNotEmpty();
            for (KubernetesResource doc : docs) {
                assertThat(doc).as(file + ": " + doc).isInstanceOf(typedClassOf(doc));
            }
        }
    }

    @Test
    void deploymentProbesFollowTheHealthChecksAndShutdownFitsTheGracePeriod() {
        Deployment deployment = one(GENERATED, Deployment.class);
        Container c = sluiceContainer(deployment);
        assertThat(c.getPorts()).singleElement().satisfies(p -> {
            assertThat(p.getContainerPort()).isEqualTo(PORT);
            assertThat(p.getName()).isEqualTo("http");
        });
        assertHttpProbe(c.getStartupProbe(), "/q/health/started", PORT);
        assertHttpProbe(c.getReadinessProbe(), "/q/health/ready", PORT);
        assertHttpProbe(c.getLivenessProbe(), "/q/health/live", PORT);

        // the startup probe gives model load + warmup at least 5 minutes before the kubelet restarts the pod
        assertThat(failureBudget(c.getStartupProbe())).isGreaterThanOrEqualTo(Duration.ofMinutes(5));

        Properties conf = Manifests.applicationProperties();
        assertThat(conf.getProperty("quarkus.shutdown.delay-enabled")).isEqualTo("true");
        Duration delay = Manifests.duration(conf.getProperty("quarkus.shutdown.delay"));
        Duration drain = Manifests.duration(conf.getProperty("quarkus.shutdown.timeout"));
        // the kubelet sees readiness down before the server stops taking requests
        Probe readiness = c.getReadinessProbe();
        assertThat(Duration.ofSeconds((long) readiness.getPeriodSeconds() * readiness.getFailureThreshold()))
                .isLessThanOrEqualTo(delay);
        // SIGKILL comes only after the delay, the drain, the wait for models still loading (5 s), the models' stop
        // (5 s for their queues, 2 s for a stopped run) and an OpenTelemetry export (30 s at most by default) are over
        assertThat(Duration.ofSeconds(deployment.getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds()))
                .isGreaterThan(delay.plus(drain).plusSeconds(5).plusSeconds(7).plusSeconds(30));
    }

    @Test
    void deploymentHasResourcesAndMountsTheModelClaim() {
        Deployment deployment = one(GENERATED, Deployment.class);
        Container c = sluiceContainer(deployment);
        for (String resource : List.of("cpu", "memory")) {
            Quantity request = c.getResources().getRequests().get(resource);
            Quantity limit = c.getResources().getLimits().get(resource);
            assertThat(request).as(resource + " request").isNotNull();
            assertThat(limit).as(resource + " limit").isNotNull();
            assertThat(Quantity.getAmountInBytes(limit)).isGreaterThanOrEqualTo(Quantity.getAmountInBytes(request));
        }
        assertThat(c.getResources().getLimits()).doesNotContainKey("nvidia.com/gpu");

        assertThat(env(c, "SLUICE_REPOSITORY_PATHS")).isEqualTo("/models");
        // behind a Service that balances connections, replicas the HPA adds get their share of long-lived clients
        assertThat(env(c, "SLUICE_SERVER_MAX_CONNECTION_AGE")).isEqualTo("5m");
        assertThat(c.getVolumeMounts()).filteredOn(m -> m.getMountPath().equals("/models")).singleElement().satisfies(m -> {
            assertThat(m.getReadOnly()).isTrue();
            Volume v = volume(deployment, m.getName());
            assertThat(v.getPersistentVolumeClaim().getClaimName())
                    .isEqualTo(one("base/sluice-models-pvc.yaml", PersistentVolumeClaim.class).getMetadata().getName());
            assertThat(v.getPersistentVolumeClaim().getReadOnly()).isTrue();
        });
    }

    /**
     * What the "restricted" Pod Security Standard asks of a pod (non-root, no privilege escalation, every
     * capability dropped, a RuntimeDefault or Localhost seccomp profile) on the Deployment, the Knative Service and
     * the KServe runtime; and on the Deployment a read-only root file system with /tmp, the one place Sluice
     * writes (.ci/image-check.sh runs the image so), on an emptyDir.
     */
    @Test
    void everyPodMeetsTheRestrictedPodSecurityStandard() {
        Deployment deployment = one(GENERATED, Deployment.class);
        PodSpec pod = deployment.getSpec().getTemplate().getSpec();
        Container c = sluiceContainer(deployment);
        restricted(c.getSecurityContext(), pod.getSecurityContext());
        assertThat(c.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
        assertThat(c.getVolumeMounts()).filteredOn(m -> m.getMountPath().equals("/tmp")).singleElement()
                .satisfies(m -> assertThat(volume(deployment, m.getName()).getEmptyDir()).isNotNull());
        assertThat(pod.getAutomountServiceAccountToken()).isFalse();

        io.fabric8.knative.serving.v1.Service knative = one(KNATIVE, io.fabric8.knative.serving.v1.Service.class);
        restricted(knative.getSpec().getTemplate().getSpec().getContainers().get(0).getSecurityContext(), null);

        GenericKubernetesResource runtime = one("kserve/sluice-servingruntime.yaml", GenericKubernetesResource.class);
        JsonNode spec = Manifests.YAML.valueToTree(runtime.getAdditionalProperties().get("spec"));
        restricted(Manifests.YAML.convertValue(spec.path("containers").get(0), Container.class).getSecurityContext(), null);
    }

    private static void restricted(SecurityContext container, PodSecurityContext pod) {
        assertThat(container).isNotNull();
        assertThat(container.getAllowPrivilegeEscalation()).isFalse();
        assertThat(container.getCapabilities().getDrop()).containsExactly("ALL");
        assertThat(container.getCapabilities().getAdd()).isNullOrEmpty();
        assertThat(container.getPrivileged()).isNotEqualTo(Boolean.TRUE);
        Boolean nonRoot = container.getRunAsNonRoot() != null ? container.getRunAsNonRoot()
                : pod == null ? null : pod.getRunAsNonRoot();
        assertThat(nonRoot).isTrue();
        SeccompProfile seccomp = container.getSeccompProfile() != null ? container.getSeccompProfile()
                : pod == null ? null : pod.getSeccompProfile();
        assertThat(seccomp).isNotNull();
        assertThat(seccomp.getType()).isIn("RuntimeDefault", "Localhost");
    }

    @Test
    void serviceDisruptionBudgetAndServiceMonitorSelectTheSluicePods() {
        Deployment deployment = one(GENERATED, Deployment.class);
        Map<String, String> podLabels = deployment.getSpec().getTemplate().getMetadata().getLabels();
        assertThat(podLabels).containsAllEntriesOf(deployment.getSpec().getSelector().getMatchLabels());

        Service service = one(GENERATED, Service.class);
        assertThat(podLabels).containsAllEntriesOf(service.getSpec().getSelector());
        assertThat(service.getSpec().getPorts()).singleElement().satisfies(p -> {
            assertThat(p.getName()).isEqualTo("http");
            assertThat(p.getTargetPort().getIntVal()).isEqualTo(PORT);
            // a mesh or an L7 gateway speaks HTTP/2 to the pod, which gRPC needs, not HTTP/1.1 for a port named http
            assertThat(p.getAppProtocol()).isEqualTo("kubernetes.io/h2c");
        });

        PodDisruptionBudget pdb = one("base/sluice-pdb.yaml", PodDisruptionBudget.class);
        assertThat(podLabels).containsAllEntriesOf(pdb.getSpec().getSelector().getMatchLabels());
        assertThat(pdb.getSpec().getMaxUnavailable().getIntVal()).isEqualTo(1);

        GenericKubernetesResource monitor = one("base/sluice-servicemonitor.yaml", GenericKubernetesResource.class);
        assertThat(monitor.getKind()).isEqualTo("ServiceMonitor");
        Map<String, String> selected = monitor.get("spec", "selector", "matchLabels");
        assertThat(service.getMetadata().getLabels()).containsAllEntriesOf(selected);
        assertThat((String) monitor.get("spec", "endpoints", 0, "port")).isEqualTo("http");
        assertThat((String) monitor.get("spec", "endpoints", 0, "path")).isEqualTo("/q/metrics");

        // the Knative Service's pods, for a Prometheus Operator, which does not read their prometheus.io annotations
        GenericKubernetesResource podMonitor = one("knative/sluice-podmonitor.yaml", GenericKubernetesResource.class);
        assertThat(podMonitor.getKind()).isEqualTo("PodMonitor");
        Map<String, String> pods = podMonitor.get("spec", "selector", "matchLabels");
        assertThat(pods).containsExactly(Map.entry("serving.knative.dev/service",
                one(KNATIVE, io.fabric8.knative.serving.v1.Service.class).getMetadata().getName()));
        // Knative names the user container's port user-port in the pods it makes
        assertThat((String) podMonitor.get("spec", "podMetricsEndpoints", 0, "port")).isEqualTo("user-port");
        assertThat((String) podMonitor.get("spec", "podMetricsEndpoints", 0, "path")).isEqualTo("/q/metrics");
    }

    @Test
    void generatedHpaScalesOnGpuUtilization() {
        HorizontalPodAutoscaler hpa = one(GENERATED, HorizontalPodAutoscaler.class);
        assertScalesTheDeployment(hpa);
        MetricSpec metric = onlyMetric(hpa);
        assertThat(metric.getType()).isEqualTo("Pods");
        assertThat(metric.getPods().getMetric().getName()).isEqualTo("DCGM_FI_DEV_GPU_UTIL");
        assertThat(metric.getPods().getTarget().getType()).isEqualTo("AverageValue");
        assertThat(metric.getPods().getTarget().getAverageValue()).isEqualTo(new Quantity("70"));
    }

    @Test
    void hpaVariantsReplaceTheGeneratedOneAndScaleOnCpuOrQueueDepth() {
        HorizontalPodAutoscaler cpu = one("cpu/sluice-hpa-cpu.yaml", HorizontalPodAutoscaler.class);
        assertScalesTheDeployment(cpu);
        assertThat(onlyMetric(cpu).getResource().getName()).isEqualTo("cpu");
        assertThat(onlyMetric(cpu).getResource().getTarget().getType()).isEqualTo("Utilization");
        assertThat(onlyMetric(cpu).getResource().getTarget().getAverageUtilization()).isEqualTo(70);

        HorizontalPodAutoscaler queue = one("hpa/sluice-hpa-busy-instances.yaml", HorizontalPodAutoscaler.class);
        assertScalesTheDeployment(queue);
        assertThat(onlyMetric(queue).getType()).isEqualTo("Pods");
        assertThat(onlyMetric(queue).getPods().getMetric().getName()).isEqualTo("sluice_busy_instances");

        // same name as the generated HPA: applying a variant replaces it rather than adding a second one
        String generatedName = one(GENERATED, HorizontalPodAutoscaler.class).getMetadata().getName();
        assertThat(List.of(cpu, queue)).allSatisfy(h -> assertThat(h.getMetadata().getName()).isEqualTo(generatedName));
    }

    @Test
    void prometheusAdapterServesBothPodsMetrics() throws Exception {
        ConfigMap adapter = one("hpa/prometheus-adapter-rules.yaml", ConfigMap.class);
        JsonNode rules = Manifests.YAML.readTree(adapter.getData().get("config.yaml")).get("rules");
        assertThat(rules).extracting(r -> r.get("name").get("as").asText())
                .containsExactlyInAnyOrder("DCGM_FI_DEV_GPU_UTIL", "sluice_busy_instances");
        assertThat(rules).allSatisfy(r -> {
            assertThat(r.get("resources").get("overrides").get("pod").get("resource").asText()).isEqualTo("pod");
            assertThat(r.get("metricsQuery").asText()).contains("<<.GroupBy>>");
        });
    }

    @Test
    void kedaScalesAheadOnThePredictedRequestRate() {
        GenericKubernetesResource scaled = one("keda/sluice-keda-scaledobject.yaml", GenericKubernetesResource.class);
        assertThat(scaled.getApiVersion()).isEqualTo("keda.sh/v1alpha1");
        assertThat(scaled.getKind()).isEqualTo("ScaledObject");
        assertThat((String) scaled.get("spec", "scaleTargetRef", "name")).isEqualTo(deploymentName());
        assertThat((Integer) scaled.get("spec", "minReplicaCount")).isEqualTo(3);
        assertThat((Integer) scaled.get("spec", "maxReplicaCount")).isEqualTo(20);
        assertThat((String) scaled.get("spec", "triggers", 0, "type")).isEqualTo("prometheus");
        String query = scaled.get("spec", "triggers", 0, "metadata", "query");
        assertThat(query.replaceAll("\\s+", "")).contains("predict_linear((sum(rate(sluice_requests_total{")
                .containsPattern("\\}\\[2m\\]\\)\\)orvector\\(0\\)\\)\\)\\[10m:30s\\],120\\)")
                // demand for capacity only: not requests refused before any work, which more replicas refuse too,
                // nor the 503s of a version that is not ready or whose breaker is open, which they refuse alike
                .contains("outcome=~\"success|unavailable|deadline|cancelled|error\"")
                .contains("-(sum(rate(sluice_rejections_total{namespace=\"default\",reason=~\"not_ready|circuit_open\"}");
        assertThat(Double.parseDouble(scaled.get("spec", "triggers", 0, "metadata", "threshold"))).isPositive();
    }

    @Test
    void gpuOverlayAddsOneGpuNodePlacementAndCuda() {
        Deployment patch = one("gpu/sluice-gpu.yaml", Deployment.class);
        assertThat(patch.getMetadata().getName()).isEqualTo(deploymentName());
        // a strategic merge joins containers by name: the patch must name the generated container
        Container c = sluiceContainer(patch);
        assertThat(c.getResources().getLimits()).containsEntry("nvidia.com/gpu", new Quantity("1"));
        String provider = env(c, "SLUICE_MODEL_DEFAULTS_EXECUTION_PROVIDER");
        assertThat(ExecutionProvider.valueOf(provider.toUpperCase(Locale.ROOT)).gpu()).isTrue();
        assertThat(c.getStartupProbe().getFailureThreshold() * generatedStartupPeriod())
                .as("seconds a GPU pod has to load before it is restarted").isGreaterThanOrEqualTo(900);
        // a rollout is not reported failed while a pod still loads within that
        assertThat(patch.getSpec().getProgressDeadlineSeconds()).as("progressDeadlineSeconds")
                .isGreaterThan(c.getStartupProbe().getFailureThreshold() * generatedStartupPeriod()
                        + sluiceContainer(one(GENERATED, Deployment.class)).getStartupProbe().getInitialDelaySeconds()
                                .intValue());
        // a GPU pod without a usable GPU is not ready, rather than serving on its CPU
        assertThat(GpuUnavailablePolicy.valueOf(env(c, "SLUICE_MODEL_DEFAULTS_EXECUTION_ON_GPU_UNAVAILABLE")
                .toUpperCase(Locale.ROOT))).isEqualTo(GpuUnavailablePolicy.FAIL);
        // sessions made one at a time on the GPU: a model that fails to load at once with others stays FAILED
        assertThat(env(c, "SLUICE_REPOSITORY_LOAD_THREADS")).isEqualTo("1");
        // a rollout must not need a spare GPU
        assertThat(patch.getSpec().getStrategy().getRollingUpdate().getMaxSurge().getIntVal()).isZero();
        assertThat(patch.getSpec().getStrategy().getRollingUpdate().getMaxUnavailable().getIntVal()).isEqualTo(1);
        var pod = patch.getSpec().getTemplate().getSpec();
        assertThat(pod.getNodeSelector()).containsEntry("nvidia.com/gpu.present", "true");
        assertThat(pod.getTolerations()).anySatisfy(t -> {
            assertThat(t.getKey()).isEqualTo("nvidia.com/gpu");
            assertThat(t.getEffect()).isEqualTo("NoSchedule");
        });
    }

    private static int generatedStartupPeriod() {
        return sluiceContainer(one(GENERATED, Deployment.class)).getStartupProbe().getPeriodSeconds();
    }

    @Test
    void knativeServiceDerivesConcurrencyFromAdmissionCapacity() {
        io.fabric8.knative.serving.v1.Service ksvc = one(KNATIVE, io.fabric8.knative.serving.v1.Service.class);
        var revision = ksvc.getSpec().getTemplate();
        Map<String, String> a = revision.getMetadata().getAnnotations();

        // per model: 2 instances x max-batch-size run at once (the bulkhead's max-concurrent), as many wait
        int maxConcurrent = 2 * ModelSettings.DEFAULT_MAX_BATCH_SIZE;
        int maxWaiting = 16;
        assertThat(revision.getSpec().getContainerConcurrency()).isEqualTo((long) (maxConcurrent + maxWaiting));
        assertThat(a).containsEntry("autoscaling.knative.dev/target", Integer.toString(maxConcurrent))
                .containsEntry("autoscaling.knative.dev/target-utilization-percentage", "70")
                .containsEntry("autoscaling.knative.dev/metric", "concurrency")
                .containsEntry("autoscaling.knative.dev/class", "kpa.autoscaling.knative.dev")
                .containsEntry("autoscaling.knative.dev/min-scale", "1")
                .containsEntry("autoscaling.knative.dev/initial-scale", "1")
                .containsEntry("autoscaling.knative.dev/max-scale", "20")
                .containsEntry("autoscaling.knative.dev/scale-down-delay", "5m")
                .containsEntry("serving.knative.dev/progress-deadline", "600s");

        assertThat(revision.getSpec().getContainers()).singleElement().satisfies(c -> {
            // one port, h2c: HTTP/1.1, HTTP/2 and gRPC share it end to end
            assertThat(c.getPorts()).singleElement().satisfies(p -> {
                assertThat(p.getName()).isEqualTo("h2c");
                assertThat(p.getContainerPort()).isEqualTo(PORT);
            });
            // Knative probes the one port itself: no port in the probes
            assertHttpProbe(c.getReadinessProbe(), "/q/health/ready", null);
            assertHttpProbe(c.getLivenessProbe(), "/q/health/live", null);
            assertThat(c.getResources().getRequests()).containsKeys("cpu", "memory");
            assertThat(c.getResources().getLimits()).containsKeys("cpu", "memory");
            assertThat(env(c, "SLUICE_REPOSITORY_PATHS")).isEqualTo("/models");
            // its queue-proxy balances each request: no connection turnover under it (its Go client cannot resend a
            // POST whose stream a GOAWAY refused)
            assertThat(c.getEnv()).extracting(EnvVar::getName).doesNotContain("SLUICE_SERVER_MAX_CONNECTION_AGE");
        });
        assertThat(revision.getSpec().getVolumes()).singleElement()
                .satisfies(v -> {
                    assertThat(v.getPersistentVolumeClaim().getClaimName()).isEqualTo("sluice-models");
                    // Knative's webhook refuses a claim that is not read-only unless podspec-persistent-volume-write is on
                    assertThat(v.getPersistentVolumeClaim().getReadOnly()).isTrue();
                });
    }

    @Test
    void kustomizationsReferenceFilesThatExist() {
        for (Path file : Manifests.files()) {
            if (!file.getFileName().toString().equals("kustomization.yaml")) {
                continue;
            }
            GenericKubernetesResource k = one(ROOT.relativize(file).toString(), GenericKubernetesResource.class);
            List<String> resources = k.get("resources");
            assertThat(resources).as(file.toString()).isNotEmpty();
            resources.forEach(r -> assertThat(file.resolveSibling(r)).as(file + " -> " + r).exists());
            List<Map<String, Object>> patches = k.getAdditionalProperties().containsKey("patches") ? k.get("patches") : List.of();
            for (Map<String, Object> p : patches) { // a patch file, or a patch written inline
                if (p.containsKey("path")) {
                    assertThat(file.resolveSibling((String) p.get("path"))).as(file + " -> " + p).isRegularFile();
                } else {
                    assertThat((String) p.get("patch")).as(file + " -> " + p).isNotBlank();
                }
            }
        }
        assertThat(ROOT.resolve("generated")).isDirectoryContaining(p -> Files.isRegularFile(p)
                && p.getFileName().toString().equals("kustomization.yaml"));
    }

    @Test
    void kserveRuntimeServesTheMountedModelUnderTheInferenceServiceNameOnOnePort() {
        GenericKubernetesResource runtime = one("kserve/sluice-servingruntime.yaml", GenericKubernetesResource.class);
        JsonNode spec = Manifests.YAML.valueToTree(runtime.getAdditionalProperties().get("spec"));
        assertThat(spec.path("protocolVersions")).extracting(JsonNode::asText).containsExactly("v2", "grpc-v2");
        assertThat(spec.path("multiModel").asBoolean(true)).isFalse();
        assertThat(spec.path("supportedModelFormats")).extracting(f -> f.path("name").asText()).containsExactly("onnx");
        assertThat(spec.path("annotations").path("prometheus.kserve.io/path").asText()).isEqualTo("/q/metrics");
        assertThat(spec.path("annotations").path("prometheus.kserve.io/port").asText()).isEqualTo(String.valueOf(PORT));
        Container container = Manifests.YAML.convertValue(spec.path("containers").get(0), Container.class);
        assertThat(container.getName()).isEqualTo("kserve-container"); // the name KServe looks for
        // the settings it passes are real ones: sluice.repository.paths and the property modelName() maps
        assertThat(container.getEnv()).extracting(EnvVar::getName, EnvVar::getValue).contains(
                org.assertj.core.groups.Tuple.tuple(envName("sluice.repository.paths"), "/mnt/models"),
                org.assertj.core.groups.Tuple.tuple(envName("sluice.repository." + modelNameProperty()), "{{.Name}}"));
        // Serverless by default: Knative balances each request, and no connection is turned over under it
        assertThat(container.getEnv()).extracting(EnvVar::getName).doesNotContain(envName("sluice.server.max-connection-age"));
        assertThat(container.getPorts()).singleElement().satisfies(p -> {
            assertThat(p.getContainerPort()).isEqualTo(PORT);
            assertThat(p.getName()).isEqualTo("h2c"); // HTTP/2 to the pod, for gRPC
        });
        Container deployed = sluiceContainer(one(GENERATED, Deployment.class));
        assertHttpProbe(container.getReadinessProbe(), deployed.getReadinessProbe().getHttpGet().getPath(), PORT);
        assertHttpProbe(container.getLivenessProbe(), deployed.getLivenessProbe().getHttpGet().getPath(), PORT);

        GenericKubernetesResource isvc = one("kserve/sluice-inferenceservice.yaml", GenericKubernetesResource.class);
        JsonNode predictor = Manifests.YAML.<JsonNode>valueToTree(isvc.getAdditionalProperties().get("spec"))
                .path("predictor");
        // the Knative Service's concurrency, which follows the admission capacity
        var revision = one(KNATIVE, io.fabric8.knative.serving.v1.Service.class).getSpec().getTemplate();
        assertThat(predictor.path("containerConcurrency").asLong()).isEqualTo(revision.getSpec().getContainerConcurrency());
        assertThat(predictor.path("scaleMetric").asText()).isEqualTo("concurrency");
        assertThat(predictor.path("scaleTarget").asText())
                .isEqualTo(revision.getMetadata().getAnnotations().get("autoscaling.knative.dev/target"));
        JsonNode model = predictor.path("model");
        assertThat(model.path("runtime").asText()).isEqualTo(runtime.getMetadata().getName());
        assertThat(model.path("modelFormat").path("name").asText()).isEqualTo("onnx");
        assertThat(model.path("protocolVersion").asText()).isEqualTo("v2");
    }

    private static String modelNameProperty() {
        try {
            return io.sluice.config.SluiceConfig.Repository.class.getMethod("modelName")
                    .getAnnotation(io.smallrye.config.WithName.class).value();
        } catch (NoSuchMethodException e) {
            throw new AssertionError(e);
        }
    }

    /** The environment variable SmallRye Config reads for {@code property}. */
    private static String envName(String property) {
        return property.toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9]", "_");
    }

    /** The typed class fabric8 must produce for a document, GenericKubernetesResource for custom resources. */
    private static Class<?> typedClassOf(KubernetesResource doc) {
        String kind = doc instanceof io.fabric8.kubernetes.api.model.HasMetadata h ? h.getKind() : "";
        String apiVersion = ((io.fabric8.kubernetes.api.model.HasMetadata) doc).getApiVersion();
        return switch (apiVersion + " " + kind) {
            case "apps/v1 Deployment" -> Deployment.class;
            case "v1 Service" -> Service.class;
            case "v1 PersistentVolumeClaim" -> PersistentVolumeClaim.class;
            case "v1 ConfigMap" -> ConfigMap.class;
            case "autoscaling/v2 HorizontalPodAutoscaler" -> HorizontalPodAutoscaler.class;
            case "policy/v1 PodDisruptionBudget" -> PodDisruptionBudget.class;
            case "serving.knative.dev/v1 Service" -> io.fabric8.knative.serving.v1.Service.class;
            case "monitoring.coreos.com/v1 ServiceMonitor", "monitoring.coreos.com/v1 PrometheusRule",
                    "monitoring.coreos.com/v1 PodMonitor",
                    "keda.sh/v1alpha1 ScaledObject", "kustomize.config.k8s.io/v1beta1 Kustomization",
                    "serving.kserve.io/v1alpha1 ClusterServingRuntime", "serving.kserve.io/v1beta1 InferenceService" ->
                GenericKubernetesResource.class;
            default -> throw new AssertionError("no expectation for " + apiVersion + " " + kind + ": add it here");
        };
    }

    private static String deploymentName() {
        return one(GENERATED, Deployment.class).getMetadata().getName();
    }

    private static Container sluiceContainer(Deployment deployment) {
        String name = one(GENERATED, Deployment.class).getSpec().getTemplate().getSpec().getContainers().get(0).getName();
        assertThat(name).isEqualTo("sluice");
        return deployment.getSpec().getTemplate().getSpec().getContainers().stream()
                .filter(c -> c.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no container " + name + " in " + deployment.getMetadata().getName()));
    }

    private static Volume volume(Deployment deployment, String name) {
        return deployment.getSpec().getTemplate().getSpec().getVolumes().stream()
                .filter(v -> v.getName().equals(name)).findFirst().orElseThrow();
    }

    private static String env(Container c, String name) {
        return c.getEnv().stream().filter(e -> e.getName().equals(name)).map(EnvVar::getValue).findFirst()
                .orElseThrow(() -> new AssertionError("no env " + name + " on " + c.getName()));
    }

    private static void assertHttpProbe(Probe probe, String path, Integer port) {
        assertThat(probe).as(path).isNotNull();
        assertThat(probe.getHttpGet().getPath()).isEqualTo(path);
        if (port == null) {
            assertThat(probe.getHttpGet().getPort()).isNull();
        } else {
            assertThat(probe.getHttpGet().getPort().getIntVal()).isEqualTo(port);
        }
    }

    private static Duration failureBudget(Probe p) {
        return Duration.ofSeconds(p.getInitialDelaySeconds() + (long) p.getPeriodSeconds() * p.getFailureThreshold());
    }

    private static void assertScalesTheDeployment(HorizontalPodAutoscaler hpa) {
        assertThat(hpa.getSpec().getScaleTargetRef().getKind()).isEqualTo("Deployment");
        assertThat(hpa.getSpec().getScaleTargetRef().getName()).isEqualTo(deploymentName());
        assertThat(hpa.getSpec().getMinReplicas()).isEqualTo(3);
        assertThat(hpa.getSpec().getMaxReplicas()).isEqualTo(20);
    }

    private static MetricSpec onlyMetric(HorizontalPodAutoscaler hpa) {
        assertThat(hpa.getSpec().getMetrics()).hasSize(1);
        return hpa.getSpec().getMetrics().get(0);
    }
}
