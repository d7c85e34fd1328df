#!/usr/bin/env bash
# Sluice benchmark: builds the server and the bench, measures the raw ONNX Runtime baseline, starts
# Sluice on 127.0.0.1, runs the load scenarios over gRPC / REST binary / REST JSON, prints the table and
# writes everything to bench/results/<timestamp>/. See bench/README.md.
#
#   bench/run.sh [--duration S] [--warmup S] [--scenarios LIST] [--skip-server-build] [--skip-raw] ...
#
# Every flag has an environment variable twin (DURATION=10 SCENARIOS='fp32-s128-*' bench/run.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DURATION="${DURATION:-15}"                 # measured seconds per scenario
WARMUP="${WARMUP:-5}"                      # warm-up seconds per scenario
SERVER_WARMUP="${SERVER_WARMUP:-150}"      # unrecorded load on the new server before the first scenario
RAW_DURATION="${RAW_DURATION:-10}"         # raw baseline: measured seconds per thread layout
RAW_BRACKET="${RAW_BRACKET:-5}"            # raw seconds right before and after each closed-loop scenario (0 = off)
RAW_WARMUP="${RAW_WARMUP:-3}"              # raw baseline: warm-up seconds per thread layout
TIMEOUT="${TIMEOUT:-30}"                   # per-request timeout, seconds
SCENARIOS="${SCENARIOS:-default}"          # 'default', globs over default names, or specs (README)
PORT="${PORT:-}"                           # server HTTP (and gRPC) port; empty = first free from 18080
GRPC_PORT="${GRPC_PORT:-}"                 # only if gRPC is not served on the HTTP port
READY_TIMEOUT="${READY_TIMEOUT:-180}"      # seconds to wait for /v2/health/ready
SKIP_SERVER_BUILD="${SKIP_SERVER_BUILD:-0}"
SKIP_BENCH_BUILD="${SKIP_BENCH_BUILD:-0}"
SKIP_RAW="${SKIP_RAW:-0}"
SKIP_TINY="${SKIP_TINY:-0}"
SERVER_JAVA_OPTS="${SERVER_JAVA_OPTS:--XX:+UseSerialGC}" # the image's collector (Dockerfile.jvm); e.g. add -Xmx2g
BENCH_JAVA_OPTS="${BENCH_JAVA_OPTS:--Xmx2g}"
BENCH_NICE="${BENCH_NICE:-}"             # e.g. -10: the load generator's nice value (needs root or CAP_SYS_NICE)
SLUICE_MODEL_OPTS="${SLUICE_MODEL_OPTS:-}" # per-model server settings, "model:key=value ..." (see below)
SLUICE_OPTS="${SLUICE_OPTS:-}"             # any other -D options for the server, space separated
LIST_ONLY=0

usage() {
  sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'EOF'
flags (environment variable in brackets):
  --duration S          measured seconds per scenario [DURATION=15]
  --warmup S            warm-up seconds per scenario [WARMUP=5]
  --server-warmup S     unrecorded c=4 load on every workload/protocol pair before the first scenario [SERVER_WARMUP=150]
  --raw-duration S      raw baseline seconds per thread layout [RAW_DURATION=10]
  --raw-bracket S       raw for S s before and after each closed-loop scenario (c=1: raw c=1;
                        c>1: the best raw layout); 0 = off [RAW_BRACKET=5]
  --raw-warmup S        raw baseline warm-up per thread layout [RAW_WARMUP=3]
  --timeout S           per-request timeout [TIMEOUT=30]
  --scenarios LIST      comma list: default-name globs (fp32-s128-*) and/or specs
                        <workload>:<protocol>:<load> (fp32-s64:rest-json:c4, int8-s32:grpc:r40,
                        fp32-s128:grpc:o50) [SCENARIOS=default]
  --port N              server port [PORT=first free from 18080]
  --skip-server-build   use the existing target/quarkus-app [SKIP_SERVER_BUILD=1]
  --skip-bench-build    use the existing bench/target/sluice-bench.jar [SKIP_BENCH_BUILD=1]
  --skip-raw            no raw baseline (no 'vs raw', o<pct> scenarios skipped) [SKIP_RAW=1]
  --skip-tiny           no tiny-model scenarios [SKIP_TINY=1]
  --list                build the bench, print the selected scenarios and the time estimate, exit
server tuning: SLUICE_MODEL_OPTS="all-minilm-l6-v2:threads.intra-op=1 all-minilm-l6-v2:batching.instances=2"
               (each model's threads.intra-op, default 1, is also the raw layout latency 'vs raw' compares with)
               SLUICE_OPTS="-Dsluice.model-defaults.batching.max-batch-size=4"
               SERVER_JAVA_OPTS="-XX:+UseSerialGC -Xmx2g" (default -XX:+UseSerialGC, as the image runs it)
EOF
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --server-warmup) SERVER_WARMUP="$2"; shift 2 ;;
    --raw-duration) RAW_DURATION="$2"; shift 2 ;;
    --raw-bracket) RAW_BRACKET="$2"; shift 2 ;;
    --raw-warmup) RAW_WARMUP="$2"; shift 2 ;;
    --timeout) TIMEOUT="$2"; shift 2 ;;
    --scenarios) SCENARIOS="$2"; shift 2 ;;
    --port) PORT="$2"; shift 2 ;;
    --skip-server-build) SKIP_SERVER_BUILD=1; shift ;;
    --skip-bench-build) SKIP_BENCH_BUILD=1; shift ;;
    --skip-raw) SKIP_RAW=1; shift ;;
    --skip-tiny) SKIP_TINY=1; shift ;;
    --list) LIST_ONLY=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown flag: $1" >&2; usage >&2; exit 64 ;;
  esac
done

SERVER_JAR="$ROOT/target/quarkus-app/quarkus-run.jar"
BENCH_JAR="$ROOT/bench/target/sluice-bench.jar"
DEFAULT_REPO="$ROOT/target/model-repository"
TINY_ALL="$ROOT/bench/results/models"      # everything TinyModels writes (some are broken on purpose)
TINY_REPO="$ROOT/bench/results/tiny-repo"  # what the server gets: only the tiny models the bench uses
TINY_MODELS="add identity_fp32"

source "$ROOT/bench/lib.sh"   # log, server_props, free_port

server_intra_op() {  # "model=N,..." from SLUICE_MODEL_OPTS' model:threads.intra-op=N (bench default: cores/min(2, cores))
  local kv out=""
  for kv in $SLUICE_MODEL_OPTS; do
    case "${kv#*:}" in
      threads.intra-op=*) out+="${out:+,}${kv%%:*}=${kv#*:threads.intra-op=}" ;;
      batching.instances=*)
        [[ " $SLUICE_MODEL_OPTS " == *" ${kv%%:*}:threads.intra-op="* ]] || echo "WARNING: ${kv%%:*} sets" \
          "batching.instances without threads.intra-op; the server then picks intra-op = cores/instances," \
          "the bench assumes the default layout's (cores/min(2, cores)): set ${kv%%:*}:threads.intra-op too" >&2 ;;
    esac
  done
  if [[ "$SLUICE_OPTS" == *model-defaults.threads.intra-op* || "$SLUICE_OPTS" == *model-defaults.batching.instances* ]]; then
    echo "WARNING: SLUICE_OPTS changes the default thread layout; the bench only knows per-model" \
         "threads.intra-op from SLUICE_MODEL_OPTS (else cores/min(2, cores)): set them there" >&2
  fi
  echo "$out"
}

# BENCH_NICE=-10 runs the load generator at that nice value (root or CAP_SYS_NICE), standing in for a
# client on another machine: on 2 shared cores the server's inference threads otherwise delay its sends
bench() { ${BENCH_NICE:+nice -n "$BENCH_NICE"} java $BENCH_JAVA_OPTS -jar "$BENCH_JAR" "$@"; }

# ---- 1. build ------------------------------------------------------------------------------
if [[ "$SKIP_BENCH_BUILD" != 1 ]]; then
  log "building the bench (bench/pom.xml)"
  ./mvnw -q -f bench/pom.xml package
fi
[[ -f "$BENCH_JAR" ]] || { echo "missing $BENCH_JAR (build the bench first)" >&2; exit 1; }

COMMON=(--scenarios "$SCENARIOS" --warmup "$WARMUP" --server-warmup "$SERVER_WARMUP" --duration "$DURATION" --timeout "$TIMEOUT"
        --raw-warmup "$RAW_WARMUP" --raw-duration "$RAW_DURATION" --raw-bracket "$RAW_BRACKET")
SERVER_INTRA_OP="$(server_intra_op)"   # the server's intra-op per model: raw c=1 same-layout run, 'vs raw'
if [[ -n "$SERVER_INTRA_OP" ]]; then COMMON+=(--server-intra-op "$SERVER_INTRA_OP"); fi
if [[ "$LIST_ONLY" == 1 ]]; then
  bench list "${COMMON[@]}"
  exit 0
fi

results_dir ""
build_server

# ---- 2. tiny models ------------------------------------------------------------------------
LISTING="$(bench list "${COMMON[@]}")"
USE_TINY=0
if [[ "$SKIP_TINY" != 1 ]] && grep -q '^tiny-' <<<"$LISTING"; then
  log "writing tiny models to $TINY_ALL (io.sluice.fixtures.TinyModels)"
  if ./mvnw -q test-compile \
      && java -cp "$ROOT/target/test-classes" io.sluice.fixtures.TinyModels "$TINY_ALL" \
      && [[ -f "$TINY_ALL/add/1/model.onnx" ]]; then
    rm -rf "$TINY_REPO" && mkdir -p "$TINY_REPO"
    for m in $TINY_MODELS; do
      if [[ -d "$TINY_ALL/$m" ]]; then cp -r "$TINY_ALL/$m" "$TINY_REPO/"; fi
    done
    echo "tiny models served: $(cd "$TINY_REPO" && ls | tr '\n' ' ')"
    USE_TINY=1
  else
    echo "WARNING: could not write the tiny models (is there a public static main in" \
         "io.sluice.fixtures.TinyModels writing <repo>/add/1/model.onnx?); tiny scenarios are skipped." >&2
  fi
fi
REPOS="$DEFAULT_REPO"
if [[ "$USE_TINY" == 1 ]]; then REPOS="$REPOS,$TINY_REPO"; else COMMON+=(--skip-tiny); fi
COMMON+=(--model-repos "$REPOS")
bench list "${COMMON[@]}"

if [[ "$SLUICE_OPTS $SLUICE_MODEL_OPTS" == *cache.enabled=true* ]]; then
  echo "WARNING: the response cache is on: every worker sends its own fixed input, so after the first request" \
       "each is answered from the cache and the ratios to raw measure the cache, not the server" >&2
fi

# ---- 3. raw ONNX Runtime baseline (before the server starts, so it has the cores to itself) ------
if [[ "$SKIP_RAW" != 1 ]]; then
  log "raw ONNX Runtime baseline"
  bench raw "${COMMON[@]}" --out "$OUT" || echo "WARNING: the raw baseline reported problems (see above)" >&2
fi

# ---- 4. start Sluice -----------------------------------------------------------------------
PORT="${PORT:-$(free_port)}"
GRPC_PORT="${GRPC_PORT:-$PORT}"
server_props "$PORT" "$REPOS"
log "starting Sluice on 127.0.0.1:$PORT (log: $OUT/server.log)"
printf '%q ' java $SERVER_JAVA_OPTS "${SERVER_PROPS[@]}" -jar "$SERVER_JAR" > "$OUT/server-command.txt"
OPT_OUT_TRACKING=true java $SERVER_JAVA_OPTS "${SERVER_PROPS[@]}" -jar "$SERVER_JAR" > "$OUT/server.log" 2>&1 &
SERVER_PID=$!
stop_server() {
  if [[ -n "${SERVER_PID:-}" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=
}
trap stop_server EXIT
trap 'exit 130' INT TERM

ready=0
for _ in $(seq 1 "$READY_TIMEOUT"); do
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "Sluice exited during startup; last lines of its log:" >&2; tail -30 "$OUT/server.log" >&2; exit 1; }
  code="$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$PORT/v2/health/ready" || true)"
  if [[ "$code" == 200 ]]; then ready=1; break; fi
  sleep 1
done
if [[ "$ready" != 1 ]]; then
  echo "Sluice not ready after ${READY_TIMEOUT}s; last lines of its log:" >&2; tail -30 "$OUT/server.log" >&2; exit 1
fi
echo "ready: $(curl -s "http://127.0.0.1:$PORT/v2" || true)"

# ---- 5. load -------------------------------------------------------------------------------
log "load scenarios"
status=0
bench load "${COMMON[@]}" --port "$PORT" --grpc-port "$GRPC_PORT" --out "$OUT" --raw "$OUT/raw.json" || status=$?

stop_server
log "done: $OUT/table.txt (results.json, results.csv, raw.json, histograms/, server.log)"
exit "$status"
