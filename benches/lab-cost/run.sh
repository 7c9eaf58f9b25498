#!/usr/bin/env bash
# The policy lab's cost for one SLO over 30 days from a local Prometheus:
# one SLO's counters at STEP_S (default 15 s) for DAYS (default 30) backfilled,
# `slo-eval serve --prometheus` (release build) on it, then the wall time of
# the replay API and of the lab page (four policies), the first view (fetch
# from Prometheus + replays) and a second one (cached), each with the
# number of queries Prometheus answered for it. Not run in CI; see README.md.
set -euo pipefail
days=${1:-30}
step=${2:-15}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
end=$(( ($(date +%s) / 3600) * 3600 - 3600 ))
start=$(( end - days * 86400 ))
echo "== one SLO, ${days} days at ${step}s"
python3 "$root/benches/eval-cost/gen.py" 1 $(( days * 24 )) "$work" "$end" "$step"
promtool tsdb create-blocks-from openmetrics --max-block-duration=24h "$work/history.om" "$work/data" >/dev/null
port=$(free_port)
printf 'global: {scrape_interval: 15s}\n' > "$work/prometheus.yml"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --storage.tsdb.retention.time=400d --web.listen-address=127.0.0.1:$port >"$work/prom.log" 2>&1 &
pids+=($!)
prom="http://127.0.0.1:$port"
for _ in $(seq 1 600); do curl -sf "$prom/-/ready" >/dev/null && break; sleep 0.5; done
cargo build --release -q -p slo-eval --manifest-path "$root/Cargo.toml"
lport=$(free_port)
"$root/target/release/slo-eval" serve --prometheus "$prom" --listen "127.0.0.1:$lport" --interval 1h "$work/specs" > "$work/serve.log" 2>&1 &
pids+=($!)
ui="http://127.0.0.1:$lport"
for _ in $(seq 1 100); do curl -sf "$ui/healthz" >/dev/null && break; sleep 0.2; done
answered() {
  curl -sf "$prom/metrics" | awk '/^prometheus_http_requests_total\{.*handler="\/api\/v1\/query(_range)?"/ {s += $2} END {print s + 0}'
}
timed() { # name, curl args...
  local name=$1; shift
  local before after t
  before=$(answered)
  t=$(curl -s -o "$work/body" -w '%{http_code} %{time_total}' "$@")
  after=$(answered)
  printf '| %s | %s s | %s | HTTP %s, %s bytes |\n' "$name" "${t#* }" "$((after - before))" "${t%% *}" "$(wc -c < "$work/body")"
}
range="start=$start&end=$end&step=1m"
body='alerting:
  windows: google-30d
  page: {for: 5m}'
echo "| view (${days}d at 1m steps, one SLO) | wall | Prometheus queries | answer |"
echo "|---|---:|---:|---|"
timed "backtest API, first (fetch + replay)" "$ui/api/v1/slos/svc-000/slo-0/backtest?$range"
timed "backtest API, cached" "$ui/api/v1/slos/svc-000/slo-0/backtest?$range"
timed "POST backtest, another policy" -X POST --data-binary "$body" "$ui/api/v1/slos/svc-000/slo-0/backtest?$range"
timed "policy lab page, first (4 policies)" "$ui/slos/svc-000/slo-0/lab?$range"
timed "policy lab page, cached" "$ui/slos/svc-000/slo-0/lab?$range"
timed "list page" "$ui/"
# The replay had data: evaluations with data over the range.
curl -s "$ui/api/v1/slos/svc-000/slo-0/backtest?$range" | python3 -c 'import json,sys; d=json.load(sys.stdin); i=d["slos"][0]["instances"][0]; print("replayed:", d["slos"][0].get("steps"), "steps,", i["steps_with_data"], "with data,", len(i["alerts"]), "alerts")'
