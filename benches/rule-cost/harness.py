#!/usr/bin/env python3
"""Rule-cost benchmark: what Prometheus spends evaluating each rule layout.

One real Prometheus (the Debian 2.42 package), one TSDB, layouts measured one
after the other by reloading the rule file:

 1. N SLOs' request counters over DAYS of 30 s history are written as
    OpenMetrics (fixtures.py) and turned into 24h blocks with
    `promtool tsdb create-blocks-from openmetrics`, ending at "now".
 2. Prometheus starts on 127.0.0.1 with those blocks and scrapes a live
    /metrics target (a thread of this script) that continues the same
    counters, so the short windows at wall-clock "now" hold data as in
    production.
 3. For each layout, the recorded series whose *history* some rule reads
    through a range selector (Sloth's 5m ratios under its 30d rule, our 5m
    increases under the long windows) are backfilled with
    `promtool tsdb create-blocks-from rules` for the whole history, and the
    blocks are moved into the running Prometheus. Each layout is therefore
    measured with a week of its own recorded series, as in steady state.
 4. Compactions are let to settle, the layout's rules are loaded, every group
    (also the 5m ones) is let to evaluate, then for MEASURE seconds
    /metrics and /api/v1/rules are polled: per group
    prometheus_rule_group_last_duration_seconds and
    prometheus_rule_group_last_evaluation_samples (each evaluation counted
    once), per rule evaluationTime, and process_cpu_seconds_total.

Nothing here is run in CI: a 100-SLO, 7-day run takes about 45 minutes.
"""

import argparse
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
POLL = 10.0  # seconds between samples while measuring (< evaluation interval)


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------
# Prometheus
# --------------------------------------------------------------------------


class Prometheus:
    def __init__(self, work, tsdb, live_port, scrape):
        self.work = work
        self.tsdb = tsdb
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.live_port = live_port
        self.scrape = scrape
        self.config = os.path.join(work, "prometheus.yml")
        self.proc = None
        self.log_path = os.path.join(work, "prometheus.log")

    def write_config(self, rule_file=None):
        lines = [
            "global:",
            f"  scrape_interval: {int(self.scrape)}s",
            f"  evaluation_interval: {int(self.scrape)}s",
            "scrape_configs:",
            "  - job_name: live",
            "    honor_labels: true",
            "    static_configs:",
            f"      - targets: ['127.0.0.1:{self.live_port}']",
        ]
        if rule_file:
            lines += ["rule_files:", f"  - {json.dumps(os.path.abspath(rule_file))}"]
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self):
        self.write_config()
        cmd = [
            "prometheus",
            f"--storage.tsdb.path={self.tsdb}",
            "--storage.tsdb.retention.time=400d",
            f"--web.listen-address=127.0.0.1:{self.port}",
            f"--config.file={self.config}",
            "--web.enable-lifecycle",
        ]
        self.logf = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.logf, stderr=subprocess.STDOUT, start_new_session=True)
        with open(os.path.join(self.work, "prometheus.pid"), "w") as f:
            f.write(str(self.proc.pid))
        deadline = time.time() + 180
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited ({self.proc.returncode}); see {self.log_path}")
            try:
                if urllib.request.urlopen(self.url + "/-/ready", timeout=5).status == 200:
                    return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(1)
        raise RuntimeError("prometheus not ready after 180 s")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self.proc = None
        pid_file = os.path.join(self.work, "prometheus.pid")
        if os.path.exists(pid_file):
            os.remove(pid_file)

    def get(self, path, params=None, timeout=60):
        url = self.url + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.read()

    def api(self, path, params=None):
        doc = json.loads(self.get(path, params))
        if doc.get("status") != "success":
            raise RuntimeError(f"{path}: {doc}")
        return doc["data"]

    def query(self, q, t=None):
        params = {"query": q}
        if t is not None:
            params["time"] = f"{t:.3f}"
        return self.api("/api/v1/query", params)["result"]

    def reload(self, rule_file):
        self.write_config(rule_file)
        req = urllib.request.Request(self.url + "/-/reload", method="POST")
        with urllib.request.urlopen(req, timeout=120) as r:
            if r.status != 200:
                raise RuntimeError(f"reload failed: {r.status}")
        m = self.metrics()
        if m.get(("prometheus_config_last_reload_successful", ()), 0) != 1:
            raise RuntimeError(f"config reload failed; see {self.log_path}")

    def metrics(self):
        """/metrics as {(name, ((label, value), ...)): float}."""
        return parse_metrics(self.get("/metrics").decode())

    def rules(self):
        return self.api("/api/v1/rules")["groups"]


LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
KEEP = (
    "prometheus_rule_",
    "process_cpu_seconds_total",
    "prometheus_tsdb_compactions_total",
    "prometheus_tsdb_vertical_compactions_total",
    "prometheus_tsdb_blocks_loaded",
    "prometheus_tsdb_head_series",
    "prometheus_tsdb_out_of_bound_samples_total",
    "prometheus_tsdb_out_of_order_samples_total",
    "prometheus_target_scrapes_sample_out_of_",
    "prometheus_config_last_reload_successful",
)


def parse_metrics(text):
    out = {}
    for line in text.splitlines():
        if not line or line[0] == "#" or not line.startswith(KEEP):
            continue
        m = LINE.match(line)
        if not m:
            continue
        labels = tuple(sorted(LABEL.findall(m.group(3) or "")))
        try:
            out[(m.group(1), labels)] = float(m.group(4))
        except ValueError:
            pass
    return out


def total(metrics, name):
    return sum(v for (n, _), v in metrics.items() if n == name)


def by_group(metrics, name):
    return {dict(l)["rule_group"]: v for (n, l), v in metrics.items() if n == name and "rule_group" in dict(l)}


# --------------------------------------------------------------------------
# Which recorded series need history, in which order
# --------------------------------------------------------------------------

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SELECTOR = re.compile(r"(?<![a-zA-Z0-9_:\"'])(" + NAME + r")\s*(\{[^}]*\})?\s*(\[[^\]]*\])?")
EQ_MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"')


def references(query, recorded):
    """(name, equality matchers, is_range) for each recorded name the query reads."""
    out = []
    for m in SELECTOR.finditer(query):
        name = m.group(1)
        if name not in recorded:
            continue
        eq = dict(EQ_MATCHER.findall(m.group(2) or ""))
        out.append((name, eq, bool(m.group(3))))
    return out


def producers(rules, name, eq):
    """The recording rules whose output a selector (name + equality matchers) may match."""
    return [
        i
        for i, r in enumerate(rules)
        if r["type"] == "recording"
        and r["name"] == name
        and all(r["labels"].get(k, v) == v for k, v in eq.items())
    ]


def backfill_plan(groups):
    """Passes of recording rules to backfill, producers first.

    A recording rule needs history when some rule reads its name under a
    range selector; the rules such a rule reads (instantly or over a range)
    need history in turn, and are backfilled in an earlier pass.
    """
    rules = []
    for g in groups:
        for r in g["rules"]:
            rules.append({**r, "group": g["name"], "interval": g["interval"], "labels": r.get("labels") or {}})
    recorded = {r["name"] for r in rules if r["type"] == "recording"}
    refs = [references(r["query"], recorded) for r in rules]
    needed = set()
    for i, r in enumerate(rules):
        for name, eq, is_range in refs[i]:
            if is_range:
                needed.update(producers(rules, name, eq))
    # Close over dependencies and compute depth (longest chain of recorded inputs).
    depth = {}

    def dep(i, seen=()):
        if i in depth:
            return depth[i]
        if i in seen:
            raise RuntimeError(f"recording rule cycle at {rules[i]['name']}")
        d = 0
        for name, eq, _ in refs[i]:
            for j in producers(rules, name, eq):
                needed.add(j)
                d = max(d, dep(j, seen + (i,)) + 1)
        depth[i] = d
        return d

    for i in list(needed):
        dep(i)
    passes = {}
    for i in sorted(needed):
        passes.setdefault(depth[i], []).append(rules[i])
    return [passes[k] for k in sorted(passes)]


def write_backfill_file(path, rules):
    groups = {}
    for r in rules:
        g = groups.setdefault(r["group"], {"name": r["group"], "interval": f"{int(r['interval'])}s", "rules": []})
        rule = {"record": r["name"], "expr": r["query"]}
        if r["labels"]:
            rule["labels"] = r["labels"]
        g["rules"].append(rule)
    with open(path, "w") as f:  # JSON is YAML
        json.dump({"groups": list(groups.values())}, f, indent=1)


# --------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------


def run(cmd, **kw):
    log("$ " + " ".join(cmd))
    t = time.time()
    subprocess.run(cmd, check=True, **kw)
    return time.time() - t


def wait_settled(prom, quiet=90, limit=1200, cpu_max=0.15):
    """Waits until no compaction has finished, no block was (un)loaded and
    Prometheus used under cpu_max cores for `quiet` seconds (bounded)."""
    t_end = time.time() + limit
    hist = []
    while time.time() < t_end:
        m = prom.metrics()
        key = (
            total(m, "prometheus_tsdb_compactions_total"),
            total(m, "prometheus_tsdb_vertical_compactions_total"),
            total(m, "prometheus_tsdb_blocks_loaded"),
        )
        now = time.time()
        hist.append((now, key, total(m, "process_cpu_seconds_total")))
        old = [h for h in hist if h[0] <= now - quiet]
        if old:
            t0, k0, c0 = old[-1]
            if k0 == key and (hist[-1][2] - c0) / (now - t0) < cpu_max:
                log(f"settled: compactions={key[0]:.0f} vertical={key[1]:.0f} blocks={key[2]:.0f}")
                return True
        time.sleep(10)
    log("WARNING: TSDB did not settle within the limit; measuring anyway")
    return False


def backfill_openmetrics(prom, rules, t_start, t_end, out_dir, work, tag):
    """Evaluates recording rules over the history with query_range (what
    `promtool tsdb create-blocks-from rules` does too) and writes the results
    as 24h blocks: promtool's own rule backfill writes one block per rule per
    2h, ~8,400 blocks for Sloth's 5m ratios of 100 SLOs over a week."""
    om = os.path.join(work, f"backfill-{tag}.om")
    n_samples = 0
    with open(om, "w", buffering=1 << 20) as f:
        for r in sorted(rules, key=lambda r: r["name"]):
            step = float(r["interval"])
            start = math.ceil(t_start / step) * step
            chunk = step * 2880  # well under the 11,000 points per series
            series = {}
            t = start
            while t <= t_end:
                stop = min(t + chunk - step, t_end)
                data = prom.api(
                    "/api/v1/query_range",
                    {"query": r["query"], "start": f"{t:.3f}", "end": f"{stop:.3f}", "step": f"{step:g}"},
                )
                for s in data["result"]:
                    labels = {k: v for k, v in s["metric"].items() if k != "__name__"}
                    labels.update(r["labels"])
                    key = tuple(sorted(labels.items()))
                    series.setdefault(key, []).extend(s["values"])
                t = stop + step
            for key, values in series.items():
                lab = ",".join(f'{k}="{esc(v)}"' for k, v in key)
                head = f"{r['name']}{{{lab}}} "
                f.writelines(f"{head}{v} {ts:.3f}\n" for ts, v in values)
                n_samples += len(values)
        f.write("# EOF\n")
    run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=24h", "--quiet", om, out_dir],
        stdout=subprocess.DEVNULL,
    )
    os.remove(om)
    return n_samples


def esc(v):
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def backfill(prom, layout, rule_file, t_start, args, work):
    """Backfills the history that the layout's rules read over ranges."""
    t_end = math.floor(time.time()) - 1
    prom.reload(rule_file)
    groups = prom.rules()
    prom.reload(None)
    passes = backfill_plan(groups)
    info = {"passes": [], "seconds": 0.0}
    if not passes:
        log(f"{layout}: no recorded history is read over a range; nothing to backfill")
        return info
    for k, rules in enumerate(passes):
        names = sorted({r["name"] for r in rules})
        log(f"{layout}: backfill pass {k + 1}/{len(passes)}: {len(rules)} rules ({', '.join(names)})")
        out = os.path.join(work, f"blocks-{layout}-{k}")
        t = time.time()
        if args.backfill == "promtool":
            bf = os.path.join(work, f"backfill-{layout}-{k}.json")
            write_backfill_file(bf, rules)
            run(
                [
                    "promtool", "tsdb", "create-blocks-from", "rules", "--quiet",
                    f"--start={int(t_start)}", f"--end={int(t_end)}",
                    f"--eval-interval={int(args.scrape)}s",
                    f"--url={prom.url}", f"--output-dir={out}", bf,
                ],
                stdout=subprocess.DEVNULL,
            )
            n_samples = None
        else:
            n_samples = backfill_openmetrics(prom, rules, t_start, t_end, out, work, f"{layout}-{k}")
        secs = time.time() - t
        blocks = [b for b in os.listdir(out) if os.path.isdir(os.path.join(out, b))]
        for b in blocks:
            os.rename(os.path.join(out, b), os.path.join(prom.tsdb, b))
        shutil.rmtree(out, ignore_errors=True)
        log(f"{layout}: {n_samples} samples, {len(blocks)} blocks in {secs:.0f} s, moved into the TSDB; waiting for Prometheus to load them")
        # Wait until the middle of the history answers for every name.
        t_mid = (t_start + t_end) / 2
        deadline = time.time() + 300
        while True:
            missing = [
                n for n in names
                if not prom.query(f"count(last_over_time({n}[15m]))", t_mid)
            ]
            if not missing:
                break
            if time.time() > deadline:
                raise RuntimeError(f"backfilled series not visible after 300 s: {missing}")
            time.sleep(10)
        # How much history each name now has (points per series over 30d).
        points = {}
        for n in names:
            r = prom.query(f"min(count_over_time({n}[30d]))", t_end)
            points[n] = float(r[0]["value"][1]) if r else 0.0
        log(f"{layout}: points per series over 30d after the pass: " + ", ".join(f"{n}={v:.0f}" for n, v in points.items()))
        info["passes"].append({"rules": len(rules), "names": names, "blocks": len(blocks), "samples": n_samples,
                               "seconds": round(secs, 1), "points_per_series_30d": points})
        info["seconds"] += secs
        wait_settled(prom)
    return info


def group_kind(name):
    """Group name with the SLO's identity replaced by *, to sum like groups."""
    return re.sub(r"svc-\d+([-_.:]?requests[-_]availability)?", "*", name)


def rule_kind(r):
    labels = r.get("labels") or {}
    window = labels.get("sloth_window") or labels.get("slo_window") or ""
    sev = labels.get("sloth_severity") or labels.get("slo_tier") or labels.get("severity") or ""
    name = r["name"] if r["type"] == "recording" else "ALERT " + re.sub(r"Svc\d+", "*", r["name"])
    extra = window or sev
    return f"{name}{{{extra}}}" if extra else name


def measure(prom, layout, rule_file, args):
    prom.reload(rule_file)
    t_load = time.time()
    groups = prom.rules()
    n_groups = len(groups)
    n_rules = sum(len(g["rules"]) for g in groups)
    max_interval = max(g["interval"] for g in groups)
    log(f"{layout}: loaded {n_groups} groups, {n_rules} rules; waiting for every group to evaluate")
    deadline = t_load + max_interval + 120
    while True:
        groups = prom.rules()
        stale = [g for g in groups if parse_ts(g.get("lastEvaluation")) < t_load]
        if not stale:
            break
        if time.time() > deadline:
            raise RuntimeError(f"{len(stale)} groups did not evaluate within {max_interval + 120:.0f} s")
        time.sleep(5)
    time.sleep(args.warmup)
    log(f"{layout}: measuring for {args.measure:.0f} s")
    evals = {}  # (group, ts) -> (duration, samples, interval)
    rule_evals = {}  # (group, rule index, ts) -> (kind, seconds)
    m0 = prom.metrics()
    t0 = time.time()
    la0 = os.getloadavg()[0]
    while True:
        m = prom.metrics()
        dur = by_group(m, "prometheus_rule_group_last_duration_seconds")
        smp = by_group(m, "prometheus_rule_group_last_evaluation_samples")
        ts = by_group(m, "prometheus_rule_group_last_evaluation_timestamp_seconds")
        itv = by_group(m, "prometheus_rule_group_interval_seconds")
        for g, d in dur.items():
            if ts.get(g, 0) >= t0:
                evals[(g, ts[g])] = (d, smp.get(g, 0.0), itv.get(g, args.scrape))
        if time.time() - t0 >= args.measure:
            break
        time.sleep(POLL)
    m1 = m
    t1 = time.time()
    la1 = os.getloadavg()[0]
    # Per-rule breakdown, after the window above: /api/v1/rules is a large
    # JSON (every rule's query and annotations), and polling it during the
    # window would add to Prometheus's CPU figure.
    for k in range(args.rule_snapshots):
        for g in prom.rules():
            for i, r in enumerate(g["rules"]):
                t = parse_ts(r.get("lastEvaluation"))
                if t >= t0:
                    rule_evals[(g["file"] + ";" + g["name"], i, t)] = (rule_kind(r), r.get("evaluationTime", 0.0))
        if k + 1 < args.rule_snapshots:
            time.sleep(args.scrape)
    # Per group: mean over the evaluations seen.
    per_group = {}
    for (g, _), (d, s, i) in evals.items():
        e = per_group.setdefault(g, {"n": 0, "dur": 0.0, "samples": 0.0, "interval": i})
        e["n"] += 1
        e["dur"] += d
        e["samples"] += s
    for e in per_group.values():
        e["dur"] /= e["n"]
        e["samples"] /= e["n"]
    seen = len(per_group)
    if seen < n_groups:
        log(f"WARNING: {layout}: only {seen} of {n_groups} groups evaluated during the measurement")
    cycle = args.scrape
    per_cycle = sum(e["dur"] * cycle / e["interval"] for e in per_group.values())
    plain_sum = sum(e["dur"] for e in per_group.values())
    samples = sum(e["samples"] * cycle / e["interval"] for e in per_group.values())
    kinds = {}
    for g, e in per_group.items():
        k = kinds.setdefault(group_kind(g.split(";", 1)[-1]), {"groups": 0, "seconds_per_cycle": 0.0, "samples_per_cycle": 0.0, "interval": e["interval"]})
        k["groups"] += 1
        k["seconds_per_cycle"] += e["dur"] * cycle / e["interval"]
        k["samples_per_cycle"] += e["samples"] * cycle / e["interval"]
    # Per rule kind: mean evaluationTime per rule, summed over SLOs, per cycle.
    per_rule = {}
    for (g, i, _), (kind, secs) in rule_evals.items():
        per_rule.setdefault((g, i), [kind, 0, 0.0])
        per_rule[(g, i)][1] += 1
        per_rule[(g, i)][2] += secs
    itv_of = {g: e["interval"] for g, e in per_group.items()}
    rule_kinds = {}
    for (g, _), (kind, n, secs) in per_rule.items():
        rule_kinds[kind] = rule_kinds.get(kind, 0.0) + secs / n * cycle / itv_of.get(g, cycle)
    dt = t1 - t0
    cpu = (total(m1, "process_cpu_seconds_total") - total(m0, "process_cpu_seconds_total")) / dt * cycle
    summary_sum = total(m1, "prometheus_rule_group_duration_seconds_sum") - total(m0, "prometheus_rule_group_duration_seconds_sum")
    failures = total(m1, "prometheus_rule_evaluation_failures_total") - total(m0, "prometheus_rule_evaluation_failures_total")
    missed = total(m1, "prometheus_rule_group_iterations_missed_total") - total(m0, "prometheus_rule_group_iterations_missed_total")
    compactions = (
        total(m1, "prometheus_tsdb_compactions_total") - total(m0, "prometheus_tsdb_compactions_total")
        + total(m1, "prometheus_tsdb_vertical_compactions_total") - total(m0, "prometheus_tsdb_vertical_compactions_total")
    )
    if failures:
        log(f"WARNING: {layout}: {failures:.0f} rule evaluation failures during the measurement")
    if compactions:
        log(f"WARNING: {layout}: {compactions:.0f} compactions ran during the measurement")
    result = {
        "layout": layout,
        "rule_file": os.path.basename(rule_file),
        "groups": n_groups,
        "rules": n_rules,
        "groups_seen": seen,
        "evaluations_seen": len(evals),
        "eval_seconds_per_cycle": per_cycle,
        "eval_seconds_sum_of_groups": plain_sum,
        "eval_seconds_per_cycle_from_summary": summary_sum / dt * cycle,
        "samples_per_cycle": samples,
        "cpu_seconds_per_cycle": cpu,
        "measure_seconds": dt,
        "rule_failures": failures,
        "iterations_missed": missed,
        "compactions_during": compactions,
        "loadavg_1m": [la0, la1],
        "group_kinds": kinds,
        "rule_kinds": dict(sorted(rule_kinds.items(), key=lambda kv: -kv[1])),
    }
    log(
        f"{layout}: {per_cycle:.3f} s of rule evaluation per {cycle:.0f} s cycle "
        f"(summary: {result['eval_seconds_per_cycle_from_summary']:.3f}), "
        f"{samples:.0f} samples, {cpu:.2f} CPU s per cycle, load {la0:.2f}->{la1:.2f}"
    )
    return result


def parse_ts(s):
    """RFC 3339 with nanoseconds, as the rules API gives it, to unix seconds."""
    if not s or s.startswith("0001-"):
        return 0.0
    m = re.match(r"(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)(\.\d+)?(Z|[+-]\d\d:\d\d)", s)
    if not m:
        return 0.0
    y, mo, d, h, mi, se = (int(x) for x in m.groups()[:6])
    frac = float(m.group(7) or 0)
    import calendar

    t = calendar.timegm((y, mo, d, h, mi, se, 0, 0, 0)) + frac
    tz = m.group(8)
    if tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        t -= sign * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60)
    return t


def ours_rules(args, work, spec_dir, name="ours"):
    """Our rule file: given (`ours` only), or generated by slo-eval, or None."""
    if args.ours_rules and name == "ours":
        return os.path.abspath(args.ours_rules), "given"
    cmd = None
    if args.slo_eval:
        cmd = [args.slo_eval]
    elif shutil.which("cargo"):
        try:
            subprocess.run(
                ["cargo", "build", "-q", "--release", "-p", "slo-eval"],
                cwd=REPO, check=True, timeout=900, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            cmd = [os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target")), "release", "slo-eval")]
        except (subprocess.SubprocessError, OSError):
            cmd = None
    if not cmd:
        return None, "no slo-eval binary"
    out = os.path.join(work, f"{name}.yaml")
    with open(out, "w") as f:
        p = subprocess.run(cmd + ["generate", spec_dir], stdout=f, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0 or os.path.getsize(out) == 0:
        return None, f"`{' '.join(cmd)} generate` failed: {p.stderr.strip()[:300]}"
    return out, " ".join(cmd) + " generate"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--slos", type=int, default=100)
    p.add_argument("--days", type=float, default=7)
    p.add_argument("--scrape", type=float, default=30, help="scrape and evaluation interval, seconds")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--layouts", default="sloth,sloth-rate30d,ours", help="comma list of sloth, sloth-rate30d, ours, ours-slices, reference")
    p.add_argument("--rounds", type=int, default=1, help="measure the layouts this many times (alternating order)")
    p.add_argument("--ours-rules", help="our rule file (default: `slo-eval generate` on the specs)")
    p.add_argument("--slo-eval", help="the slo-eval binary to generate our rules with")
    p.add_argument("--ours-note", default="", help="where our rules come from, for the results (e.g. a commit)")
    p.add_argument("--measure", type=float, default=300, help="seconds of measurement per layout")
    p.add_argument("--rule-snapshots", type=int, default=4,
                   help="/api/v1/rules snapshots, one per cycle after the measurement, for the per-rule breakdown")
    p.add_argument("--warmup", type=float, default=60, help="seconds after every group has evaluated once")
    p.add_argument("--baseline", type=float, default=120, help="seconds of measurement with no rules (0: skip)")
    p.add_argument("--backfill", choices=["openmetrics", "promtool"], default="openmetrics",
                   help="how recorded history is written: query_range + 24h blocks (default), or "
                        "`promtool tsdb create-blocks-from rules` (one block per rule per 2h)")
    p.add_argument("--workdir", help="keep everything here instead of a temporary folder")
    p.add_argument("--results", default=os.path.join(HERE, "results"), help="folder for the JSON and table")
    args = p.parse_args()

    work = os.path.abspath(args.workdir) if args.workdir else tempfile.mkdtemp(prefix="rule-cost.")
    os.makedirs(work, exist_ok=True)
    log(f"work folder: {work}")
    prom = None
    t_begin = time.time()

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    try:
        # Rule files and specs.
        spec_dir = os.path.join(work, "specs")
        fixtures.write_specs(spec_dir, args.slos, args.seed)
        files = {
            "sloth": os.path.join(work, "sloth.yaml"),
            "sloth-rate30d": os.path.join(work, "sloth-rate30d.yaml"),
            "reference": os.path.join(work, "reference.yaml"),
        }
        fixtures.write_sloth(files["sloth"], args.slos, args.seed)
        fixtures.write_sloth(files["sloth-rate30d"], args.slos, args.seed, period_rate=True)
        fixtures.write_reference(files["reference"], args.slos, args.seed)
        layouts = [s.strip() for s in args.layouts.split(",") if s.strip()]
        ours_note = None
        if "ours" in layouts:
            path, how = ours_rules(args, work, spec_dir)
            if path:
                files["ours"] = path
                ours_note = f"ours: {how}" + (f" ({args.ours_note})" if args.ours_note else "")
            else:
                ours_note = f"ours: NOT MEASURED ({how}); the hand-written reference layout stands in"
                layouts = [l for l in layouts if l != "ours"]
                if "reference" not in layouts:
                    layouts.append("reference")
            log(ours_note)
        if "ours-slices" in layouts:
            # The same SLOs as good minutes (slices SLIs): no Sloth layout
            # to compare with, since Sloth has no time slices.
            slices_dir = os.path.join(work, "specs-slices")
            fixtures.write_specs(slices_dir, args.slos, args.seed, kind="slices")
            path, how = ours_rules(args, work, slices_dir, name="ours-slices")
            if not path:
                raise SystemExit(f"ours-slices: {how}")
            files["ours-slices"] = path
            log(f"ours-slices: {how}")
        for l in layouts:
            subprocess.run(["promtool", "check", "rules", files[l]], check=True, stdout=subprocess.DEVNULL)

        # History.
        om = os.path.join(work, "history.om")
        state_path = os.path.join(work, "state.json")
        log(f"writing {args.days:g} days of {args.scrape:g} s history for {args.slos} SLOs")
        t = time.time()
        state = fixtures.write_openmetrics(om, args.slos, args.days, args.scrape, args.seed, time.time())
        with open(state_path, "w") as f:
            json.dump(state, f)
        gen_secs = time.time() - t
        log(f"{state['samples']} samples, {os.path.getsize(om) / 1e6:.0f} MB in {gen_secs:.0f} s")
        tsdb = os.path.join(work, "tsdb")
        import_secs = run(
            ["promtool", "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=24h", "--quiet", om, tsdb],
            stdout=subprocess.DEVNULL,
        )
        os.remove(om)
        log(f"raw blocks written in {import_secs:.0f} s")

        # Live target, continuing the counters.
        live = fixtures.LiveCounters(state)
        live_port = free_port()
        server = make_live_server(live, live_port)
        threading.Thread(target=server.serve_forever, daemon=True).start()

        prom = Prometheus(work, tsdb, live_port, args.scrape)
        prom.start()
        log(f"prometheus up at {prom.url} (pid {prom.proc.pid})")
        wait_settled(prom)
        check_ingest(prom)

        results = {"baseline": None, "runs": [], "backfill": {}}
        if args.baseline > 0:
            results["baseline"] = measure_idle(prom, args)
        order = []
        for r in range(args.rounds):
            order += layouts if r % 2 == 0 else list(reversed(layouts))
        failure = None
        try:
            for layout in order:
                just_settled = False
                if layout not in results["backfill"]:
                    results["backfill"][layout] = backfill(prom, layout, files[layout], state["t_start"], args, work)
                    just_settled = bool(results["backfill"][layout]["passes"])  # each pass ends settled
                if not just_settled:
                    wait_settled(prom)
                results["runs"].append(measure(prom, layout, files[layout], args))
                prom.reload(None)
            check_ingest(prom)
        except Exception as e:  # report what was measured, then fail
            failure = e
            log(f"ERROR: {e!r}; reporting the {len(results['runs'])} measurements made")
        results["meta"] = {
            "slos": args.slos,
            "days": args.days,
            "scrape_seconds": args.scrape,
            "raw_samples": state["samples"],
            "raw_series": 2 * args.slos,
            "history_seconds": gen_secs,
            "import_seconds": import_secs,
            "total_seconds": time.time() - t_begin,
            "ours": ours_note,
            "prometheus": subprocess.run(["prometheus", "--version"], capture_output=True, text=True).stdout.splitlines()[0],
            "cores": os.cpu_count(),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "error": repr(failure) if failure else None,
        }
        if results["runs"]:
            report(results, args)
        if failure:
            raise failure
    finally:
        if prom:
            prom.stop()
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


def make_live_server(live, port):
    import http.server

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = live.render(time.time())
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    return http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)


def check_ingest(prom):
    """Live samples must land in the head right after the backfilled blocks."""
    deadline = time.time() + 120
    while time.time() < deadline:
        up = prom.query('up{job="live"}')
        if up and up[0]["value"][1] == "1":
            break
        time.sleep(5)
    else:
        raise RuntimeError("the live target is not up")
    m = prom.metrics()
    # Scrape-side counters only: the TSDB-wide out-of-order counter also
    # counts the staleness markers of removed rule groups, which Prometheus
    # writes two intervals after the removal, stamped with the removal time,
    # and which are dropped (as intended) when the same series were written
    # since, e.g. by the same layout loaded again in the next round.
    bad = {
        n: v
        for (n, _), v in m.items()
        if n.startswith("prometheus_target_scrapes_sample_out_of_") and v > 0
    }
    if bad:
        raise RuntimeError(f"live samples rejected: {bad}")
    r = prom.query("count(rate(http_requests_total[5m]) > 0)")
    log(f"live ingest ok: {r[0]['value'][1] if r else 0} series with a non-zero 5m rate")


def measure_idle(prom, args):
    m0 = prom.metrics()
    t0 = time.time()
    time.sleep(args.baseline)
    m1 = prom.metrics()
    cpu = (total(m1, "process_cpu_seconds_total") - total(m0, "process_cpu_seconds_total")) / (time.time() - t0) * args.scrape
    log(f"baseline (no rules): {cpu:.3f} CPU s per cycle")
    return {"cpu_seconds_per_cycle": cpu}


def report(results, args):
    runs = results["runs"]
    meta = results["meta"]
    agg = {}
    for r in runs:
        agg.setdefault(r["layout"], []).append(r)

    def mean(layout, key):
        xs = [r[key] for r in agg[layout]]
        return sum(xs) / len(xs)

    lines = []
    lines.append(
        f"Rule evaluation cost: {meta['slos']} SLOs, {meta['days']:g} days of {meta['scrape_seconds']:g} s history, "
        f"{meta['raw_series']} raw series, {meta['prometheus']}, {meta['cores']} cores"
    )
    if meta["ours"]:
        lines.append(meta["ours"])
    if meta.get("error"):
        lines.append(f"INCOMPLETE: the run failed after {len(runs)} measurements: {meta['error']}")
    lines.append("")
    lines.append("| layout | groups | rules | rule eval s / 30 s cycle | sum of group last_duration s | samples / cycle | Prometheus CPU s / cycle |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    if results["baseline"]:
        lines.append(f"| (no rules) | 0 | 0 | 0 | 0 | 0 | {results['baseline']['cpu_seconds_per_cycle']:.2f} |")
    for layout in agg:
        r0 = agg[layout][0]
        lines.append(
            f"| {layout} | {r0['groups']} | {r0['rules']} | {mean(layout, 'eval_seconds_per_cycle'):.3f} | "
            f"{mean(layout, 'eval_seconds_sum_of_groups'):.3f} | {mean(layout, 'samples_per_cycle'):.0f} | "
            f"{mean(layout, 'cpu_seconds_per_cycle'):.2f} |"
        )
    if len(runs) > len(agg):
        lines.append("")
        lines.append("Each measurement (rule eval s / cycle, CPU s / cycle, 1-minute load average at start and end):")
        for r in runs:
            lines.append(
                f"  {r['layout']:<15} {r['eval_seconds_per_cycle']:.3f}  {r['cpu_seconds_per_cycle']:.2f}  "
                f"load {r['loadavg_1m'][0]:.2f}->{r['loadavg_1m'][1]:.2f}"
            )
    lines.append("")
    mine = "ours" if "ours" in agg else ("reference" if "reference" in agg else None)
    if mine:
        for sloth in ("sloth", "sloth-rate30d"):
            if sloth in agg:
                ev = mean(mine, "eval_seconds_per_cycle") / mean(sloth, "eval_seconds_per_cycle")
                cpu = mean(mine, "cpu_seconds_per_cycle") / mean(sloth, "cpu_seconds_per_cycle")
                verdict = "meets" if ev <= 0.5 else "MISSES"
                lines.append(f"ratio {mine}/{sloth}: rule evaluation {ev:.2f}x, CPU {cpu:.2f}x ({verdict} the <= 0.5x target)")
    lines.append("")
    for layout in agg:
        r = agg[layout][-1]
        lines.append(f"{layout}, per group kind (seconds per cycle, samples per cycle):")
        for k, v in sorted(r["group_kinds"].items(), key=lambda kv: -kv[1]["seconds_per_cycle"]):
            lines.append(f"  {k:<40} x{v['groups']:<4} every {v['interval']:.0f}s  {v['seconds_per_cycle']:.3f} s  {v['samples_per_cycle']:.0f}")
        lines.append(f"{layout}, per rule (evaluationTime summed over SLOs, seconds per cycle):")
        for k, v in list(r["rule_kinds"].items())[:12]:
            lines.append(f"  {k:<52} {v:.3f}")
    for r in runs:
        notes = []
        if r["rule_failures"]:
            notes.append(f"{r['rule_failures']:.0f} failures")
        if r["compactions_during"]:
            notes.append(f"{r['compactions_during']:.0f} compactions")
        if r["iterations_missed"]:
            notes.append(f"{r['iterations_missed']:.0f} missed iterations")
        if notes:
            lines.append(f"note: {r['layout']}: " + ", ".join(notes))
    bf = results["backfill"]
    lines.append("")
    lines.append("backfilled recorded history: " + "; ".join(
        f"{l}: " + (", ".join(f"{'/'.join(p['names'])} ({p['rules']} rules, {p['seconds']:.0f} s)" for p in v["passes"]) or "none")
        for l, v in bf.items()
    ))
    lines.append(f"run time: {meta['total_seconds'] / 60:.1f} min (history {meta['history_seconds']:.0f} s, import {meta['import_seconds']:.0f} s)")
    text = "\n".join(lines)
    print(text)
    os.makedirs(args.results, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    base = os.path.join(args.results, f"{stamp}-{meta['slos']}slos-{meta['days']:g}d")
    with open(base + ".json", "w") as f:
        json.dump(results, f, indent=1)
    with open(base + ".md", "w") as f:
        f.write(text + "\n")
    log(f"results: {base}.md, {base}.json")


if __name__ == "__main__":
    main()
