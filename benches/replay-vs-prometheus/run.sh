#!/usr/bin/env bash
# Side by side with the criterion bench `backtest`: Prometheus answering
# query_range for the same alert expressions over the same 30 days at 15 s
# for one SLO (the data shape of benches/benches/backtest.rs: 0.05% errors,
# 10 req/s), at a 1m step, chunked under 11,000 points. Not run in CI.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
end=$(( ($(date +%s) / 3600) * 3600 - 6 * 3600 ))
start=$(( end - 30 * 86400 ))
python3 - "$start" "$end" > "$work/h.om" <<'PY'
import sys
start, end = int(sys.argv[1]), int(sys.argv[2])
print("# TYPE http_requests counter")
ok = bad = 0
oks, bads = [], []
for t in range(start, end + 1, 15):
    oks.append(f'http_requests_total{{job="api",code="200"}} {ok} {t}')
    bads.append(f'http_requests_total{{job="api",code="500"}} {bad} {t}')
    ok += 150; bad += 1 if (t // 15) % 13 == 0 else 0
print("\n".join(oks)); print("\n".join(bads)); print("# EOF")
PY
promtool tsdb create-blocks-from openmetrics --max-block-duration=24h "$work/h.om" "$work/data" >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'global: {scrape_interval: 15s}\n' > "$work/p.yml"
prometheus --config.file="$work/p.yml" --storage.tsdb.path="$work/data" --storage.tsdb.retention.time=400d \
  --web.listen-address=127.0.0.1:$port >"$work/log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null && break; sleep 0.2; done
sel_e='http_requests_total{job="api",code="500"}'; sel_t='http_requests_total{job="api"}'
r() { echo "sum(rate(${sel_e}[$1])) / sum(rate(${sel_t}[$1]))"; }
page="($(r 1h) > 0.0144 and $(r 5m) > 0.0144) or ($(r 6h) > 0.006 and $(r 30m) > 0.006)"
ticket="($(r 1d) > 0.003 and $(r 2h) > 0.003) or ($(r 3d) > 0.001 and $(r 6h) > 0.001)"
qstart=$(( start + 3 * 86400 ))
for name in page ticket; do
  expr=${!name}
  t0=$(date +%s.%N)
  s=$qstart
  while [ "$s" -le "$end" ]; do
    e=$(( s + 10999 * 60 )); [ "$e" -gt "$end" ] && e=$end
    curl -sf --data-urlencode "query=$expr" -d "start=$s" -d "end=$e" -d step=60 \
      "http://127.0.0.1:$port/api/v1/query_range" >/dev/null
    s=$(( e + 60 ))
  done
  t1=$(date +%s.%N)
  echo "prometheus query_range, $name expression, 27 days at 1m: $(python3 -c "print(round($t1-$t0,2))") s"
done
echo "compare: cargo bench -p slo-benches --bench backtest (one SLO, both tiers, 30 days at 15 s)"
