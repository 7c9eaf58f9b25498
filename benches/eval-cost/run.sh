#!/usr/bin/env bash
# One evaluation cycle for N SLOs (default 1000) against a real Prometheus
# with backfilled history: wall time, queries per cycle, peak RSS.
# Not run in CI (a few minutes); see README.md here.
set -euo pipefail
n=${1:-1000}
hours=${2:-74}   # the longest default window is 3d: cover it
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
pid=""
dpid=""
# Kill what this script started (Prometheus, the daemon) before waiting on
# them: a failing step under `set -e` lands here with both still running,
# and a bare `wait` on a live daemon would never return.
cleanup() {
  for p in $dpid $pid; do kill "$p" 2>/dev/null || true; done
  for p in $dpid $pid; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
end=$(( ($(date +%s) / 60) * 60 - 4 * 3600 ))
echo "== generating $n SLOs, ${hours}h of history"
python3 "$root/benches/eval-cost/gen.py" "$n" "$hours" "$work" "$end"
echo "== backfilling"
promtool tsdb create-blocks-from openmetrics --max-block-duration=24h "$work/history.om" "$work/data" >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'global: {scrape_interval: 1m}\n' > "$work/prometheus.yml"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --storage.tsdb.retention.time=400d --web.listen-address=127.0.0.1:$port >"$work/prom.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null && break; sleep 0.2; done
cargo build --release -q -p slo-eval --manifest-path "$root/Cargo.toml"
bin="$root/target/release/slo-eval"
at=$(( end - 1800 ))
echo "== one cycle (warm-up, then measured)"
"$bin" eval --prometheus "http://127.0.0.1:$port" --at "$at" --json "$work/specs" > /dev/null
/usr/bin/time -f "%e s wall, %M KB peak RSS" "$bin" eval --prometheus "http://127.0.0.1:$port" \
  --at "$at" --json --concurrency 8 "$work/specs" > "$work/report.json" 2> "$work/time.txt" || true
python3 - "$work/report.json" "$work/time.txt" "$n" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); t = open(sys.argv[2]).read().strip().splitlines()[-1]
n = int(sys.argv[3])
firing = sum(1 for s in r["slos"] for a in s["alerts"] if a["firing"] and a["severity"] == "page")
print(f"SLOs: {len(r['slos'])} evaluated, {len(r['failed'])} failed, {firing} paging")
print(f"queries per cycle: {n * 16} (7 windows x 2 + period x 2 per SLO)")
print(f"cycle: {t}")
PY
echo "== the daemon over the same SLOs (evaluating at now: the short windows are empty)"
lport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'prometheus: {url: "http://127.0.0.1:%s", concurrency: 8}\nspecs: [specs]\ninterval: 15s\nlisten: 127.0.0.1:%s\nstate_file: state.json\n' "$port" "$lport" > "$work/daemon.yaml"
"$bin" run --config "$work/daemon.yaml" 2>"$work/daemon.log" &
dpid=$!
for _ in $(seq 1 120); do
  # `|| true`: under pipefail a refused curl (not listening yet) would exit.
  c=$(curl -sf "http://127.0.0.1:$lport/metrics" | awk '/^slo_eval_cycles_total/ {print $2}' || true)
  c=${c%%.*}
  [ "${c:-0}" -ge 3 ] && break
  sleep 1
done
curl -sf "http://127.0.0.1:$lport/metrics" | grep -E '^slo_eval_(cycle_duration_seconds|cycle_queries|cycles_total) ' \
  || { echo "the daemon's /metrics has no cycle figures (fewer than 3 cycles?); its log:"; tail -n 20 "$work/daemon.log"; }
echo "daemon peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$dpid/status 2>/dev/null)"
