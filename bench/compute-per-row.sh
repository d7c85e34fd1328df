#!/usr/bin/env bash
# Compute per row inside Sluice under a closed loop: starts the server (target/quarkus-app) with the given
# -D options, runs one `load` scenario for SERVER_WARMUP + 5 + DURATION seconds, reads
# sluice_batch_size and sluice_compute_duration_seconds of MODEL from /q/metrics at WAIT seconds and
# WINDOW seconds later, samples CPU per thread over that window (bench/cpu-by-thread.py), and prints
# rows/s, the mean batch and the compute time per row. For A/Bs of server settings on fresh servers:
#
#   bench/compute-per-row.sh b1 -Dsluice.models.\"all-minilm-l6-v2\".batching.max-batch-size=1
#   bench/compute-per-row.sh b4 -Dsluice.models.\"all-minilm-l6-v2\".batching.max-batch-size=4
#
# The server runs with SERVER_JAVA_OPTS (default -XX:+UseSerialGC, the image's collector).
# Needs the builds bench/run.sh makes (target/quarkus-app, bench/target/sluice-bench.jar). Writes
# bench/results/compute-<label>/ (server.log, load.log, cpu.txt, metrics before and after).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
[[ $# -ge 1 ]] || { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
LABEL="$1"; shift
MODEL="${MODEL:-all-minilm-l6-v2}"
SCENARIO="${SCENARIO:-fp32-s128:grpc:c16}"
SERVER_WARMUP="${SERVER_WARMUP:-60}" # the bench's server warm-up, seconds
DURATION="${DURATION:-40}"           # the scenario's measured seconds
WAIT="${WAIT:-80}"                   # seconds after the load starts until the window opens
WINDOW="${WINDOW:-20}"               # seconds the window spans
PORT="${PORT:-18580}"
OUT="bench/results/compute-$LABEL"
mkdir -p "$OUT"
(( WAIT + WINDOW <= SERVER_WARMUP + 5 + DURATION )) || { echo "WAIT + WINDOW must end before the load does" >&2; exit 2; }

if curl -s -o /dev/null -m 2 "http://127.0.0.1:$PORT/" 2>/dev/null; then
  echo "something already listens on port $PORT (a server still stopping?); set PORT" >&2; exit 1
fi
OPT_OUT_TRACKING=true java ${SERVER_JAVA_OPTS:--XX:+UseSerialGC} -Dquarkus.http.port="$PORT" -Dquarkus.http.host=127.0.0.1 "$@" \
  -jar target/quarkus-app/quarkus-run.jar > "$OUT/server.log" 2>&1 &
SERVER=$!
stop() { kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true; } # Quarkus drains for up to 15 s
trap stop EXIT
for _ in $(seq 1 180); do
  [[ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$PORT/v2/health/ready" || true)" == 200 ]] && break
  kill -0 "$SERVER" 2>/dev/null || { tail -20 "$OUT/server.log" >&2; exit 1; }
  sleep 1
done
kill -0 "$SERVER" 2>/dev/null || { tail -20 "$OUT/server.log" >&2; exit 1; }

timeout $(( SERVER_WARMUP + DURATION + 120 )) java -Xmx2g -jar bench/target/sluice-bench.jar load --port "$PORT" --scenarios "$SCENARIO" --grpc-channels 4 \
  --server-warmup "$SERVER_WARMUP" --warmup 5 --duration "$DURATION" --raw-bracket 0 --skip-tiny \
  --raw "$OUT/no-raw.json" --out "$OUT" > "$OUT/load.log" 2>&1 &
LOAD=$!
metrics() {
  curl -s "http://127.0.0.1:$PORT/q/metrics" \
    | grep -E "^sluice_(compute_duration_seconds|batch_size)_(sum|count)\{[^}]*model=\"$MODEL\"" || true
}
sleep "$WAIT"
metrics > "$OUT/metrics-before"
python3 bench/cpu-by-thread.py "$WINDOW" > "$OUT/cpu.txt" 2>&1 &
CPU=$!
sleep "$WINDOW"
metrics > "$OUT/metrics-after"
wait "$CPU" || true
wait "$LOAD" || true

python3 - "$OUT" "$WINDOW" "$LABEL" <<'PY'
import sys
out, window, label = sys.argv[1], float(sys.argv[2]), sys.argv[3]
def read(name):
    sums = {}
    for line in open(f"{out}/{name}"):
        key, value = line.rsplit(" ", 1)
        sums[key.split("{")[0]] = sums.get(key.split("{")[0], 0.0) + float(value)
    return sums
before, after = read("metrics-before"), read("metrics-after")
d = {k: after[k] - before.get(k, 0.0) for k in after}
rows, batches = d.get("sluice_batch_size_sum", 0.0), d.get("sluice_batch_size_count", 0.0)
if rows <= 0:
    sys.exit(f"{label}: no batches in the window; see {out}/load.log")
print(f"{label}: {rows / window:.1f} rows/s, mean batch {rows / batches:.2f}, "
      f"compute {1000 * d['sluice_compute_duration_seconds_sum'] / rows:.2f} ms per row; CPU per thread: {out}/cpu.txt")
PY
