#!/usr/bin/env bash
# Time-to-ready: from process start until GET /v2/health/ready answers 200 (MiniLM fp32 and int8
# loaded and warm). Usage: bench/startup.sh [runs] [extra java options...]
# AppCDS: build with -Dquarkus.package.jar.appcds.enabled=true, then pass -XX:SharedArchiveFile=app-cds.jsa
set -euo pipefail
cd "$(dirname "$0")/../target/quarkus-app"   # AppCDS needs the classpath it was dumped with
runs=${1:-3}; shift || true
port=18090
for i in $(seq 1 "$runs"); do
  start=$(date +%s%N)
  OPT_OUT_TRACKING=true java "$@" -Dquarkus.http.port=$port -Dquarkus.http.host=127.0.0.1 \
    -Dsluice.repository.paths=../model-repository -jar quarkus-run.jar > /tmp/sluice-startup.log 2>&1 &
  pid=$!
  until [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$port/v2/health/ready)" = 200 ]; do
    kill -0 $pid 2>/dev/null || { echo "server exited; see /tmp/sluice-startup.log"; exit 1; }
    if [ $(( ($(date +%s%N) - start) / 1000000 )) -gt 120000 ]; then echo "not ready in 120 s"; kill $pid; exit 1; fi
    sleep 0.02
  done
  echo "run $i: ready after $(( ($(date +%s%N) - start) / 1000000 )) ms"
  kill $pid; wait $pid 2>/dev/null || true
done
