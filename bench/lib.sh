# Shell helpers shared by bench/run.sh and bench/overload.sh (sourced, not run).

log() { printf '\n=== %s  %s\n' "$(date +%H:%M:%S)" "$*"; }

# Server configuration names: the only place the scripts know them.
server_props() {  # fills SERVER_PROPS for port $1 and comma list of repositories $2
  SERVER_PROPS=(
    "-Dquarkus.http.port=$1"
    "-Dquarkus.http.host=127.0.0.1"
    "-Dsluice.repository.paths=$2"
  )
  local kv
  for kv in $SLUICE_MODEL_OPTS; do   # model:key=value -> -Dsluice.models."model".key=value
    SERVER_PROPS+=("-Dsluice.models.\"${kv%%:*}\".${kv#*:}")
  done
  # shellcheck disable=SC2206
  SERVER_PROPS+=($SLUICE_OPTS)
}

free_port() {  # first port from $1 (default 18080; 120 tried) nothing listens on
  local p start="${1:-18080}"
  for p in $(seq "$start" $(( start + 119 ))); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  echo "no free port in $start-$(( start + 119 ))" >&2; return 1
}

results_dir() {  # sets OUT to bench/results/<$1><UTC stamp>, links <$1>latest to it, and tees all output to OUT/run.log
  STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
  OUT="$ROOT/bench/results/$1$STAMP"
  mkdir -p "$OUT"
  ln -sfn "$1$STAMP" "$ROOT/bench/results/${1}latest"
  exec > >(tee -a "$OUT/run.log") 2>&1
  echo "results: $OUT"
}

build_server() {  # unless SKIP_SERVER_BUILD=1; then insists on target/quarkus-app
  if [[ "$SKIP_SERVER_BUILD" != 1 ]]; then
    log "building the server (./mvnw -q package -DskipTests)"
    ./mvnw -q package -DskipTests
  fi
  [[ -f "$SERVER_JAR" ]] || { echo "missing $SERVER_JAR: build the server (or drop --skip-server-build)" >&2; exit 1; }
}
