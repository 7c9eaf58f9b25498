#!/usr/bin/env bash
# The daemon's cost per cycle, direct against incremental, in one run: N SLOs
# (default 1,000) with HOURS of backfilled history (default 74: the 3d window)
# at STEP seconds (default 60) and a live scrape continuing it, a real
# Prometheus on 127.0.0.1, a 30 s interval. Per mode: wall time, queries and
# HTTP requests per cycle, the TSDB's CPU seconds per cycle (its
# process_cpu_seconds_total, less its idle rate measured first), the daemon's
# RSS, the time to the first cycle (the incremental mode fills from history
# there), and for the incremental mode a restart: time to the first cycle and
# its requests. Not run in CI (minutes to tens of minutes); see README.md.
set -euo pipefail
n=${1:-1000}
hours=${2:-74}
step=${3:-60}
cycles=${CYCLES:-10}  # the direct mode asks the period every 5 min: cover one
modes=${MODES:-direct incremental}
root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/benches/daemon-cost"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
end=$(( $(date +%s) - 120 ))
echo "== generating $n SLOs, ${hours}h of history at ${step}s"
python3 "$root/benches/eval-cost/gen.py" "$n" "$hours" "$work" "$end" "$step"
echo "== backfilling"
promtool tsdb create-blocks-from openmetrics --max-block-duration=24h "$work/history.om" "$work/data" >/dev/null
rm "$work/history.om"
eport=$(free_port)
python3 "$here/exporter.py" "$work/last.json" "$eport" &
pids+=($!)
port=$(free_port)
cat > "$work/prometheus.yml" <<YML
global: {scrape_interval: 15s}
scrape_configs:
  - job_name: shop
    static_configs: [{targets: ["127.0.0.1:$eport"]}]
YML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --storage.tsdb.retention.time=400d --web.listen-address=127.0.0.1:$port >"$work/prom.log" 2>&1 &
pids+=($!)
prom="http://127.0.0.1:$port"
for _ in $(seq 1 600); do curl -sf "$prom/-/ready" >/dev/null && break; sleep 0.5; done
cargo build --release -q -p slo-eval --manifest-path "$root/Cargo.toml"
bin="$root/target/release/slo-eval"
cpu() { curl -sf "$prom/metrics" | awk '/^process_cpu_seconds_total/ {print $2}'; }
echo "== Prometheus idle (scraping, no daemon) for 60 s"
sleep 20
c0=$(cpu); sleep 60; c1=$(cpu)
idle=$(python3 -c "print(($c1 - $c0) / 60)")
echo "idle CPU: $idle s/s"
run_daemon() { # mode, state dir -> pid in $dpid, listen port in $lport
  lport=$(free_port)
  mkdir -p "$2"
  printf 'prometheus: {url: "%s", concurrency: 8}\nspecs: [%s/specs]\ninterval: 30s\nlisten: 127.0.0.1:%s\nstate_file: %s/state.json\nevaluation: %s\n' \
    "$prom" "$work" "$lport" "$2" "$1" > "$2/daemon.yaml"
  started=$(date +%s.%N)
  "$bin" run --config "$2/daemon.yaml" 2>>"$2/daemon.log" &
  dpid=$!
  pids+=($dpid)
}
for mode in $modes; do
  echo "== $mode: $cycles cycles after the first"
  run_daemon "$mode" "$work/$mode"
  python3 "$here/watch.py" "http://127.0.0.1:$lport" "$prom" "$dpid" "$cycles" "$started" "$idle" \
    | tee "$work/$mode.json" || { tail -n 20 "$work/$mode/daemon.log"; exit 1; }
  kill -TERM "$dpid"; wait "$dpid" || true
  if [ "$mode" = incremental ]; then
    echo "== $mode: restart from the saved state"
    run_daemon "$mode" "$work/$mode"
    python3 "$here/watch.py" "http://127.0.0.1:$lport" "$prom" "$dpid" 1 "$started" "$idle" \
      | tee "$work/restart.json" || { tail -n 20 "$work/$mode/daemon.log"; exit 1; }
    kill -TERM "$dpid"; wait "$dpid" || true
  fi
done
echo "== summary ($n SLOs, ${hours}h history at ${step}s, 30 s interval)"
python3 - "$work" $modes <<'PY'
import json, os, sys
work, modes = sys.argv[1], sys.argv[2:]
rows = {m: json.load(open(f"{work}/{m}.json")) for m in modes}
keys = ["first_cycle_after_s", "first_cycle_requests", "wall_s", "max_wall_s", "queries",
        "requests", "tsdb_cpu_s_per_cycle", "rss_mb", "peak_rss_mb"]
print("| figure | " + " | ".join(modes) + " |")
print("|---|" + "---:|" * len(modes))
for k in keys:
    print(f"| {k} | " + " | ".join(str(rows[m].get(k)) for m in modes) + " |")
if os.path.exists(f"{work}/restart.json"):
    r = json.load(open(f"{work}/restart.json"))
    print(f"restart (incremental): first cycle after {r['first_cycle_after_s']} s, "
          f"{r['first_cycle_requests']} requests in it, RSS {r['rss_mb']} MB")
PY
