#!/usr/bin/env python3
"""Follows a running daemon's /metrics and Prometheus' own CPU counter over
CYCLES evaluation cycles, then prints one JSON line: the time to the first
completed cycle (since START, Unix seconds), and per cycle the wall time,
queries and HTTP requests (the daemon's gauges, read after each cycle), the
TSDB's CPU seconds per cycle (process_cpu_seconds_total over the cycles,
less IDLE_CPU_PER_S, measured without a daemon), and the daemon's RSS."""
import json, sys, time, urllib.request

daemon, prom, pid, cycles, start, idle = sys.argv[1:7]
cycles, start, idle = int(cycles), float(start), float(idle)


def metrics(url):
    try:
        with urllib.request.urlopen(url + "/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                out[name] = float(value)
            except ValueError:
                pass
    return out


def rss_mb(key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024
    return None


deadline = time.time() + 3600
first = None
seen = 0
rows = []
cpu0 = t0 = None
while time.time() < deadline and len(rows) < cycles:
    m = metrics(daemon)
    n = int(m.get("slo_eval_cycles_total", 0))
    if n > seen:
        if first is None:
            first = time.time() - start
            # Figures start after the first cycle: it may fill from history.
            cpu0, t0 = metrics(prom).get("process_cpu_seconds_total"), time.time()
            first_requests = m.get("slo_eval_cycle_requests")
        else:
            rows.append({
                "seconds": m.get("slo_eval_cycle_duration_seconds"),
                "queries": m.get("slo_eval_cycle_queries"),
                "requests": m.get("slo_eval_cycle_requests"),
            })
        seen = n
    # Fine until the first cycle (its time is a figure); then every 2 s, well
    # within a cycle: /metrics of 10,000 SLOs is megabytes, and a scrape 5
    # times a second cost the daemon a core it then lacked in its cycles.
    time.sleep(0.2 if first is None else 2.0)
cpu1, t1 = metrics(prom).get("process_cpu_seconds_total"), time.time()
avg = lambda k: sum(r[k] or 0 for r in rows) / max(1, len(rows))
print(json.dumps({
    "first_cycle_after_s": round(first, 2) if first is not None else None,
    "first_cycle_requests": first_requests if first is not None else None,
    "cycles": len(rows),
    "wall_s": round(avg("seconds"), 3),
    "max_wall_s": round(max((r["seconds"] or 0 for r in rows), default=0), 3),
    "queries": avg("queries"),
    "requests": avg("requests"),
    "tsdb_cpu_s_per_cycle": round(((cpu1 - cpu0) - idle * (t1 - t0)) / max(1, len(rows)), 3)
    if cpu0 is not None else None,
    "rss_mb": rss_mb("VmRSS"),
    "peak_rss_mb": rss_mb("VmHWM"),
}))
