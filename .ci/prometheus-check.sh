#!/usr/bin/env bash
# A real Prometheus scrapes a running Sluice and evaluates histogram_quantile over what it scraped:
# proves the metric names and buckets against the real thing. Needs the packaged jar
# (target/quarkus-app) and the prometheus binary (Debian's prometheus package). Everything binds
# 127.0.0.1; every wait is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."
app_port=18190
prom_port=19190
work=$(mktemp -d)
cleanup() { kill "${app_pid:-}" "${prom_pid:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

OPT_OUT_TRACKING=true java -Dquarkus.http.port=$app_port -Dquarkus.http.host=127.0.0.1 \
  -jar target/quarkus-app/quarkus-run.jar > "$work/sluice.log" 2>&1 &
app_pid=$!
for _ in $(seq 1 600); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$app_port/v2/health/ready)" = 200 ] && break
  sleep 0.2
done
curl -sf http://127.0.0.1:$app_port/v2/health/ready > /dev/null || { cat "$work/sluice.log"; exit 1; }

cat > "$work/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $PWD/kubernetes/alerts/sluice-rules.yaml
scrape_configs:
  - job_name: sluice
    metrics_path: /q/metrics
    static_configs:
      - targets: ['127.0.0.1:$app_port']
YML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --web.listen-address=127.0.0.1:$prom_port > "$work/prometheus.log" 2>&1 &
prom_pid=$!

body='{"inputs":[{"name":"input_ids","datatype":"INT64","shape":[1,4],"data":[101,7592,2088,102]},
{"name":"attention_mask","datatype":"INT64","shape":[1,4],"data":[1,1,1,1]},
{"name":"token_type_ids","datatype":"INT64","shape":[1,4],"data":[0,0,0,0]}]}'
query='histogram_quantile(0.99, sum by (le) (rate(sluice_request_duration_seconds_bucket{model="all-minilm-l6-v2"}[30s])))'
for i in $(seq 1 60); do
  for _ in 1 2 3 4 5; do
    curl -sf -o /dev/null -H 'Content-Type: application/json' -d "$body" \
      http://127.0.0.1:$app_port/v2/models/all-minilm-l6-v2/infer
  done
  result=$(curl -s --data-urlencode "query=$query" http://127.0.0.1:$prom_port/api/v1/query || true)
  value=$(printf '%s' "$result" | sed -n 's/.*"value":\[[0-9.]*,"\([^"]*\)"\].*/\1/p')
  if [ -n "$value" ] && [ "$value" != "NaN" ]; then
    echo "Prometheus evaluated p99 request latency over scraped buckets: ${value}s (after ${i} rounds)"
    rules=$(curl -s http://127.0.0.1:$prom_port/api/v1/rules)
    printf '%s' "$rules" | grep -q '"health":"ok"' || { echo "rules not healthy: $rules"; exit 1; }
    printf '%s' "$rules" | grep -q '"health":"err"' && { echo "a rule failed to evaluate: $rules"; exit 1; }
    echo "alert rules evaluate against the scraped series"
    exit 0
  fi
  sleep 1
done
echo "Prometheus never produced a p99 from the scraped histogram; last answer: ${result:-none}"
tail -20 "$work/prometheus.log"
exit 1
