#!/usr/bin/env bash
# Sluice overload behaviour: starts Sluice on 127.0.0.1 in its default configuration, measures the
# saturated goodput X (closed loop c=16), the p99 at 80% of X, then 5x X for 60 s and the recovery at
# 80% right after; restarts Sluice rate limiting in Redis (the bench runs redis-server) and stops Redis
# for the middle 10 s of a 30 s run at three times the limit. Prints a table against the targets and writes
# everything to bench/results/overload-<timestamp>/. See bench/README.md, "Overload".
#
#   bench/overload.sh [--duration S] [--overload-seconds S] [--protocol grpc|rest-bin|rest-json] ...
#
# Every flag has an environment variable twin (DURATION=5 OVERLOAD_SECONDS=20 bench/overload.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DURATION="${DURATION:-15}"                 # saturation and 80% load: measured seconds each
WARMUP="${WARMUP:-120}"                    # closed-loop warm-up before the saturation run (a new JVM compiles for ~2 min)
OVERLOAD_SECONDS="${OVERLOAD_SECONDS:-60}" # the overload
OVERLOAD_WARMUP="${OVERLOAD_WARMUP:-30}"   # after saturation: S s at the overload rate, then S s at the moderate load; not judged
OVERLOAD_FACTOR="${OVERLOAD_FACTOR:-5}"    # overload rate = factor x X
LOAD_FRACTION="${LOAD_FRACTION:-0.8}"      # moderate load (and recovery) rate = fraction x X
RECOVERY_SECONDS="${RECOVERY_SECONDS:-10}" # the recovery run right after the overload
CONCURRENCY="${CONCURRENCY:-16}"           # saturation: closed-loop workers
WORKERS="${WORKERS:-0}"                    # overload workers; 0 = max(64, overload rate x 1 s)
PROTOCOL="${PROTOCOL:-grpc}"               # grpc | rest-bin | rest-json
WORKLOAD="${WORKLOAD:-fp32-s128}"          # bench workload key (README "Scenarios")
GRPC_CHANNELS="${GRPC_CHANNELS:-4}"        # h2c connections the gRPC workers share
TIMEOUT="${TIMEOUT:-30}"                   # per-request timeout, seconds
REDIS_RATE="${REDIS_RATE:-20}"             # L: the server's rate limit (rate and burst) in the Redis run
REDIS_SECONDS="${REDIS_SECONDS:-30}"       # the Redis run; Redis is down for its middle third
REDIS_WARMUP="${REDIS_WARMUP:-3}"          # open loop at 3 L before the Redis run
REDIS_PORT="${REDIS_PORT:-}"               # empty = first free from 16379
PORT="${PORT:-}"                           # server port (REST and gRPC); empty = first free from 18080
READY_TIMEOUT="${READY_TIMEOUT:-180}"      # seconds to wait for /v2/health/ready
SKIP_SERVER_BUILD="${SKIP_SERVER_BUILD:-0}"
SKIP_BENCH_BUILD="${SKIP_BENCH_BUILD:-0}"
SKIP_OVERLOAD="${SKIP_OVERLOAD:-0}"        # no phases 1-4
SKIP_REDIS="${SKIP_REDIS:-0}"              # no Redis outage run
SERVER_JAVA_OPTS="${SERVER_JAVA_OPTS:--XX:+UseSerialGC}" # JVM options of the server (default: the image's collector)
BENCH_JAVA_OPTS="${BENCH_JAVA_OPTS:--Xmx2g}"
BENCH_NICE="${BENCH_NICE:-}"             # e.g. -10: the load generator's nice value (needs root or CAP_SYS_NICE)
SLUICE_MODEL_OPTS="${SLUICE_MODEL_OPTS:-}" # per-model server settings, "model:key=value ..." (as run.sh)
SLUICE_OPTS="${SLUICE_OPTS:-}"             # any other -D options for the server (both runs), space separated

usage() {
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'EOF'
flags (environment variable in brackets):
  --duration S          saturation and 80% load: measured seconds each [DURATION=15]
  --warmup S            closed-loop warm-up before the saturation run [WARMUP=120]
  --overload-seconds S  the overload run [OVERLOAD_SECONDS=60]
  --overload-warmup S   unjudged overload after saturation, so the rejection path is compiled [OVERLOAD_WARMUP=30]
  --overload-factor F   overload rate = F x X [OVERLOAD_FACTOR=5]
  --load-fraction F     moderate load and recovery rate = F x X [LOAD_FRACTION=0.8]
  --recovery-seconds S  recovery run right after the overload [RECOVERY_SECONDS=10]
  --concurrency N       saturation closed-loop workers [CONCURRENCY=16]
  --workers N           overload open-loop workers; 0 = max(64, overload rate x 1 s) [WORKERS=0]
  --protocol P          grpc | rest-bin | rest-json [PROTOCOL=grpc]
  --workload KEY        fp32-s128, int8-s32, ... (README "Scenarios") [WORKLOAD=fp32-s128]
  --grpc-channels N     h2c connections shared by the gRPC workers [GRPC_CHANNELS=4]
  --timeout S           per-request timeout [TIMEOUT=30]
  --redis-rate L        rate limit (req/s, burst L) of the Redis run; offered 3 L [REDIS_RATE=20]
  --redis-seconds S     the Redis run; Redis down for its middle third [REDIS_SECONDS=30]
  --redis-warmup S      open loop at 3 L before the Redis run [REDIS_WARMUP=3]
  --redis-port N        [REDIS_PORT=first free from 16379]
  --port N              server port [PORT=first free from 18080]
  --server-opts "..."   extra -D options for the server, both runs [SLUICE_OPTS]
  --skip-server-build   use the existing target/quarkus-app [SKIP_SERVER_BUILD=1]
  --skip-bench-build    use the existing bench/target/sluice-bench.jar [SKIP_BENCH_BUILD=1]
  --skip-overload       only the Redis run [SKIP_OVERLOAD=1]
  --skip-redis          only saturation, 80% load, overload, recovery [SKIP_REDIS=1]
also: READY_TIMEOUT=180, SERVER_JAVA_OPTS, BENCH_JAVA_OPTS=-Xmx2g, BENCH_NICE (e.g. -10: the generator's nice),
      SLUICE_MODEL_OPTS="all-minilm-l6-v2:batching.instances=2" (per-model settings, as in run.sh)
e.g.  SLUICE_OPTS="-Dsluice.model-defaults.batching.queue-size=8" bench/overload.sh --skip-server-build
EOF
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --overload-seconds) OVERLOAD_SECONDS="$2"; shift 2 ;;
    --overload-warmup) OVERLOAD_WARMUP="$2"; shift 2 ;;
    --overload-factor) OVERLOAD_FACTOR="$2"; shift 2 ;;
    --load-fraction) LOAD_FRACTION="$2"; shift 2 ;;
    --recovery-seconds) RECOVERY_SECONDS="$2"; shift 2 ;;
    --concurrency) CONCURRENCY="$2"; shift 2 ;;
    --workers) WORKERS="$2"; shift 2 ;;
    --protocol) PROTOCOL="$2"; shift 2 ;;
    --workload) WORKLOAD="$2"; shift 2 ;;
    --grpc-channels) GRPC_CHANNELS="$2"; shift 2 ;;
    --timeout) TIMEOUT="$2"; shift 2 ;;
    --redis-rate) REDIS_RATE="$2"; shift 2 ;;
    --redis-seconds) REDIS_SECONDS="$2"; shift 2 ;;
    --redis-warmup) REDIS_WARMUP="$2"; shift 2 ;;
    --redis-port) REDIS_PORT="$2"; shift 2 ;;
    --port) PORT="$2"; shift 2 ;;
    --server-opts) SLUICE_OPTS="$2"; shift 2 ;;
    --skip-server-build) SKIP_SERVER_BUILD=1; shift ;;
    --skip-bench-build) SKIP_BENCH_BUILD=1; shift ;;
    --skip-overload) SKIP_OVERLOAD=1; shift ;;
    --skip-redis) SKIP_REDIS=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown flag: $1" >&2; usage >&2; exit 64 ;;
  esac
done
case "$PROTOCOL" in grpc|rest-bin|rest-json) ;; *) echo "unknown protocol: $PROTOCOL" >&2; exit 64 ;; esac

SERVER_JAR="$ROOT/target/quarkus-app/quarkus-run.jar"
BENCH_JAR="$ROOT/bench/target/sluice-bench.jar"
REPOS="$ROOT/target/model-repository"      # the MiniLM models, as run.sh serves them

source "$ROOT/bench/lib.sh"   # log, server_props, free_port (shared with run.sh)

# BENCH_NICE=-10 runs the load generator at that nice value (root or CAP_SYS_NICE), standing in for a
# client on another machine: on 2 shared cores the server's inference threads otherwise delay its sends
bench() { ${BENCH_NICE:+nice -n "$BENCH_NICE"} java $BENCH_JAVA_OPTS -jar "$BENCH_JAR" "$@"; }

SERVER_PID=
start_server() {  # $1 = name (log and command files), further args = extra -D options; waits for readiness
  local name="$1"; shift
  server_props "$PORT" "$REPOS"
  SERVER_PROPS+=("$@")
  log "starting Sluice ($name) on 127.0.0.1:$PORT (log: $OUT/$name.log)"
  printf '%q ' java $SERVER_JAVA_OPTS "${SERVER_PROPS[@]}" -jar "$SERVER_JAR" > "$OUT/$name-command.txt"
  cat "$OUT/$name-command.txt"; echo
  OPT_OUT_TRACKING=true java $SERVER_JAVA_OPTS "${SERVER_PROPS[@]}" -jar "$SERVER_JAR" > "$OUT/$name.log" 2>&1 &
  SERVER_PID=$!
  local code
  for _ in $(seq 1 "$READY_TIMEOUT"); do
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "Sluice exited during startup; last lines of its log:" >&2; tail -30 "$OUT/$name.log" >&2; SERVER_PID=; return 1; }
    code="$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$PORT/v2/health/ready" || true)"
    if [[ "$code" == 200 ]]; then echo "ready: $(curl -s "http://127.0.0.1:$PORT/v2" || true)"; return 0; fi
    sleep 1
  done
  echo "Sluice not ready after ${READY_TIMEOUT}s; last lines of its log:" >&2; tail -30 "$OUT/$name.log" >&2
  return 1
}

stop_server() {  # SIGTERM, then SIGKILL after 10 s (Sluice delays its shutdown by 15 s to drain; nothing to keep)
  if [[ -n "${SERVER_PID:-}" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=
}

# ---- 1. build ------------------------------------------------------------------------------
if [[ "$SKIP_BENCH_BUILD" != 1 ]]; then
  log "building the bench (bench/pom.xml)"
  ./mvnw -q -f bench/pom.xml package
fi
[[ -f "$BENCH_JAR" ]] || { echo "missing $BENCH_JAR (build the bench first)" >&2; exit 1; }

results_dir "overload-"
build_server
APP_JAR="$(ls "$ROOT"/target/quarkus-app/app/*.jar 2>/dev/null | head -1 || true)"
if [[ -n "$APP_JAR" ]] && [[ -n "$(find "$ROOT/src/main" "$ROOT/pom.xml" -newer "$APP_JAR" -type f 2>/dev/null | head -1)" ]]; then
  echo "WARNING: src/main or pom.xml changed after $APP_JAR was built: the server measured is not the current code" >&2
fi

if [[ "$SLUICE_OPTS $SLUICE_MODEL_OPTS" == *cache.enabled=true* ]]; then
  echo "WARNING: the response cache is on: every worker sends its own fixed input, so after the first request" \
       "each is answered from the cache and the model barely runs" >&2
fi

trap stop_server EXIT
trap 'exit 130' INT TERM
PORT="${PORT:-$(free_port 18080)}"
COMMON=(--port "$PORT" --out "$OUT" --protocol "$PROTOCOL" --workload "$WORKLOAD" --timeout "$TIMEOUT"
        --grpc-channels "$GRPC_CHANNELS")
EXTRA="$SLUICE_OPTS${SLUICE_MODEL_OPTS:+ $SLUICE_MODEL_OPTS}"
status=0

# ---- 2. saturation, 80% load, overload, recovery: default configuration ----------------------
if [[ "$SKIP_OVERLOAD" != 1 ]]; then
  if start_server server; then
    log "saturation, load at ${LOAD_FRACTION} X, overload at ${OVERLOAD_FACTOR} X, recovery"
    bench overload "${COMMON[@]}" --concurrency "$CONCURRENCY" --warmup "$WARMUP" --duration "$DURATION" \
      --load-fraction "$LOAD_FRACTION" --overload-factor "$OVERLOAD_FACTOR" --overload-seconds "$OVERLOAD_SECONDS" \
      --overload-warmup "$OVERLOAD_WARMUP" \
      --recovery-seconds "$RECOVERY_SECONDS" --overload-workers "$WORKERS" --server-opts="$EXTRA" || status=1
  else
    status=1
  fi
  stop_server
fi

# ---- 3. Redis outage: the same server rate limiting in Redis ---------------------------------
if [[ "$SKIP_REDIS" != 1 ]]; then
  REDIS_PORT="${REDIS_PORT:-$(free_port 16379)}"
  RATE_LIMIT_PROPS=(
    "-Dsluice.rate-limit.enabled=true"
    "-Dsluice.rate-limit.store=redis"
    "-Dsluice.rate-limit.default.rate=$REDIS_RATE"
    "-Dsluice.rate-limit.default.burst=${REDIS_RATE%.*}"
    "-Dquarkus.redis.hosts=redis://127.0.0.1:$REDIS_PORT"
  )
  if start_server server-redis "${RATE_LIMIT_PROPS[@]}"; then
    log "Redis outage (redis-server on 127.0.0.1:$REDIS_PORT, started by the bench)"
    bench redis-outage "${COMMON[@]}" --redis-port "$REDIS_PORT" --redis-rate "$REDIS_RATE" \
      --redis-seconds "$REDIS_SECONDS" --redis-warmup "$REDIS_WARMUP" \
      --server-opts="$EXTRA${EXTRA:+ }${RATE_LIMIT_PROPS[*]}" || status=1
  else
    status=1
  fi
  stop_server
fi

# ---- 4. the table --------------------------------------------------------------------------
log "results"
bench overload-report --out "$OUT" || status=1
echo "results: $OUT (table.txt, overload.json, redis.json, timeline-*.csv, histograms/, server*.log)"
exit "$status"
