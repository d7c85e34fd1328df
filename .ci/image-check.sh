#!/usr/bin/env bash
# Builds the JVM image (Dockerfile.jvm) with podman, runs it, and does one inference through it; then
# runs it as the KServe runtime (kubernetes/kserve/) does, with one model.onnx mounted at /mnt/models.
#
# No registry image is pulled: the base is a minimal Debian bookworm made here with debootstrap
# (openjdk-17-jre-headless, zip, unzip) and imported with `podman import`; Dockerfile.jvm uses it
# both as BASE_IMAGE and as TOOLS_IMAGE. Another base: SLUICE_BASE_IMAGE=<image> .ci/image-check.sh
# (any image with java 17+, zip and unzip; it is then used as it is).
#
# Needs root, podman, buildah, debootstrap (.ci/run installs them) and the packaged jar
# (target/quarkus-app, built here when missing). The container runs with runc and explicit ulimits
# (this sandbox's defaults fail otherwise) and is published on 127.0.0.1 only. Every wait is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."

debian_mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
base=${SLUICE_BASE_IMAGE:-localhost/sluice-base:bookworm-jre17}
image=localhost/sluice:jvm-check
name=sluice-image-check
port=${SLUICE_IMAGE_CHECK_PORT:-18290}
work=$(mktemp -d)
# Explicit ulimits: runc fails to apply podman's defaults here (1048576 open files, 4194304
# processes). 65536 each, lowered to what this machine allows: the shell's hard limits (20000 open
# files in this sandbox) and, for processes, kernel.pid_max (32768 here; runc gets EPERM above it).
at_most() { local v=$1; shift; for cap in "$@"; do [ "$cap" = unlimited ] || [ "$cap" -ge "$v" ] || v=$cap; done; echo "$v"; }
nofile=$(at_most 65536 "$(ulimit -Hn)")
nproc=$(at_most 65536 "$(ulimit -Hu)" "$(cat /proc/sys/kernel/pid_max)")
ulimits=(--ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc")

# podman and buildah read the runtime from here: runc, not crun
cat > "$work/containers.conf" <<'CONF'
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF="$work/containers.conf"

cleanup() {
  podman rm -f -t 0 "$name" "$name-kserve" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

if ! podman image exists "$base"; then
  echo "== debootstrap a minimal Debian bookworm with a Java 17 runtime as $base"
  debootstrap --variant=minbase --include=openjdk-17-jre-headless,zip,unzip \
    bookworm "$work/rootfs" "$debian_mirror" > "$work/debootstrap.log" 2>&1 \
    || { tail -30 "$work/debootstrap.log"; exit 1; }
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  tar -C "$work/rootfs" -c . | podman import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' - "$base"
fi
podman run --rm "${ulimits[@]}" "$base" java -version

if [ ! -f target/quarkus-app/quarkus-run.jar ]; then
  ./mvnw -B -q package -DskipTests
fi

echo "== podman build -f Dockerfile.jvm on $base"
podman build "${ulimits[@]}" \
  --build-arg BASE_IMAGE="$base" --build-arg TOOLS_IMAGE="$base" \
  -f Dockerfile.jvm -t "$image" .
podman image inspect --format 'image {{.Id}}: {{.Size}} bytes' "$image"

echo "== run on 127.0.0.1:$port as the Deployment's securityContext has it: read-only root, /tmp writable, no capabilities"
# /tmp mounted exec, as an emptyDir is: JNA loads its library from there. --read-only-tmpfs=false: podman
# would otherwise also mount writable tmpfs on /run and /var/tmp, which the Deployment does not have
podman run -d --name "$name" "${ulimits[@]}" \
  --read-only --read-only-tmpfs=false --tmpfs /tmp:rw,exec,nosuid,nodev,mode=1777 \
  --cap-drop=ALL --security-opt=no-new-privileges \
  -p "127.0.0.1:$port:8080" "$image" > /dev/null
# waits (at most 150 s) until container $1 on port $2 is ready
await_ready() {
  for _ in $(seq 1 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$2/q/health/ready")" = 200 ] && break
    [ "$(podman inspect --format '{{.State.Running}}' "$1")" = true ] || break
    sleep 0.5
  done
  if ! curl -sf -o /dev/null "http://127.0.0.1:$2/q/health/ready"; then
    echo "the container never became ready:"; podman logs "$1" | tail -40; exit 1
  fi
}
await_ready "$name" "$port"
echo "ready: $(curl -s "http://127.0.0.1:$port/q/health/ready" | tr -d ' \n' | cut -c1-200)"
# the model threads got their lower priority (JNA's libc call, its library unpacked to /tmp)
if podman logs "$name" 2>&1 | grep -F 'model threads keep the default CPU priority'; then
  echo "a read-only root cost the model threads their priority"; exit 1
fi
# the collector the image sets (JDK_JAVA_OPTIONS, which the java launcher reports on stderr)
podman logs "$name" 2>&1 | grep -F 'Picked up JDK_JAVA_OPTIONS: -XX:+UseSerialGC' \
  || { echo "the JVM did not pick up the image's JDK_JAVA_OPTIONS"; podman logs "$name" | head -5; exit 1; }

answer=$(curl -sf "http://127.0.0.1:$port/v2/models/all-minilm-l6-v2/infer" -H 'Content-Type: application/json' -d '{
  "inputs": [
    {"name": "input_ids",      "datatype": "INT64", "shape": [1, 4], "data": [101, 7592, 2088, 102]},
    {"name": "attention_mask", "datatype": "INT64", "shape": [1, 4], "data": [1, 1, 1, 1]},
    {"name": "token_type_ids", "datatype": "INT64", "shape": [1, 4], "data": [0, 0, 0, 0]}
  ],
  "outputs": [{"name": "last_hidden_state"}]
}') || { echo "inference failed"; podman logs "$name" | tail -40; exit 1; }
compact=$(printf '%s' "$answer" | tr -d ' \n')
case "$compact" in
  *'"name":"last_hidden_state","datatype":"FP32","shape":[1,4,384]'*)
    echo "inference through the image: last_hidden_state FP32 [1,4,384]";;
  *) echo "unexpected answer: $(printf '%s' "$compact" | cut -c1-300)"; exit 1;;
esac

echo "== graceful stop (SIGTERM, then up to 60 s)"
podman stop -t 60 "$name" > /dev/null
podman logs "$name" 2>&1 | grep -E 'stopped in' || { podman logs "$name" | tail -20; exit 1; }
echo "== run as kubernetes/kserve/sluice-servingruntime.yaml does: one model.onnx in /mnt/models, named by it"
runtime=kubernetes/kserve/sluice-servingruntime.yaml
env_of() { grep -A1 -- "- name: $1\$" "$runtime" | sed -n 's/^ *value: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p'; }
repo_path=$(env_of SLUICE_REPOSITORY_PATHS)
[ "$repo_path" = /mnt/models ] && [ "$(env_of SLUICE_REPOSITORY_MODEL_NAME)" = '{{.Name}}' ] \
  || { echo "unexpected env in $runtime: '$repo_path'"; exit 1; }
mnt="$work/mnt-models"
mkdir -p "$mnt"
cp target/model-repository/all-minilm-l6-v2-int8/1/model.onnx "$mnt/model.onnx"
chmod -R a+rX "$mnt"
kport=$((port + 1))
# KServe fills {{.Name}} with the InferenceService's name: minilm here
podman run -d --name "$name-kserve" "${ulimits[@]}" -p "127.0.0.1:$kport:8080" \
  -e SLUICE_REPOSITORY_PATHS="$repo_path" -e SLUICE_REPOSITORY_MODEL_NAME=minilm \
  -v "$mnt:$repo_path:ro" "$image" > /dev/null
await_ready "$name-kserve" "$kport"
ready=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$kport/v2/models/minilm/ready")
bundled=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$kport/v2/models/all-minilm-l6-v2/ready")
if [ "$ready" != 200 ] || [ "$bundled" != 404 ]; then
  echo "KServe layout: minilm ready $ready (want 200), bundled model $bundled (want 404)"
  podman logs "$name-kserve" | tail -40; exit 1
fi
echo "KServe layout: /mnt/models/model.onnx served as minilm, and only it"
podman stop -t 60 "$name-kserve" > /dev/null
echo "image check passed"
