#!/usr/bin/env python3
"""Fixtures for the rule-cost benchmark (Python 3 standard library only).

Everything derives from (n_slos, seed): the SLOs, their traffic, the spec files
in our native format, Sloth-style rules written from the layout described in
/work/shared/FIELD-NOTES.md (not from Sloth's code), and a hand-written
reference of the layout FIELD-NOTES recommends.

Subcommands (each writes files; `harness.py` calls them in-process):

  openmetrics OUT.om  --slos N --days D [--scrape 30] [--end T]  history + state
  serve PORT STATE.json                                          live /metrics
  specs DIR --slos N                                             slo/v1 specs
  sloth OUT.yaml --slos N [--period-rate]                        Sloth layout
  reference OUT.yaml --slos N                                    reference layout
"""

import argparse
import http.server
import json
import math
import os
import random
import sys
import threading
import time

METRIC = "http_requests_total"
DAY = 86400.0

# Sloth's default windows (FIELD-NOTES "Sloth's rule layout").
SLOTH_WINDOWS = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]
# google-30d policy: (severity, long, short, factor) -- SRE Workbook table 5-8.
PAIRS = [
    ("page", "1h", "5m", 14.4),
    ("page", "6h", "30m", 6.0),
    ("ticket", "1d", "2h", 3.0),
    ("ticket", "3d", "6h", 1.0),
]
OBJECTIVES = [99.9, 99.9, 99.9, 99.5, 99.95, 99.0]


# --------------------------------------------------------------------------
# The SLOs and their traffic
# --------------------------------------------------------------------------


class Slo:
    """One service with one availability SLO over an HTTP request counter."""

    def __init__(self, i, seed):
        rng = random.Random(seed * 1_000_003 + i)
        self.i = i
        self.service = f"svc-{i:03d}"
        self.name = "requests-availability"
        self.objective = OBJECTIVES[i % len(OBJECTIVES)]
        self.budget = 1.0 - self.objective / 100.0
        # 1 to ~300 requests per second, log-uniform.
        self.rps = 10 ** rng.uniform(0.0, 2.5)
        # Daily rhythm: peak somewhere in the (UTC) afternoon, +-30..70 %.
        self.peak = rng.uniform(0.45, 0.75)
        self.amplitude = rng.uniform(0.3, 0.7)
        # Baseline error ratio: 5 % to 40 % of the budget.
        self.base_ratio = self.budget * rng.uniform(0.05, 0.4)
        # Incidents are placed by `place_incidents` once the history is known.
        self.incident_draws = [
            (rng.random(), rng.uniform(5, 90) * 60, 10 ** rng.uniform(-2.0, -0.5))
            for _ in range(1 + (rng.random() < 0.5))
        ]
        self.incidents = []  # (start, end, error ratio)

    def place_incidents(self, t_start, t_end):
        span = max(t_end - t_start - 2 * 3600, 1)
        self.incidents = [
            (t_start + u * span, t_start + u * span + dur, ratio)
            for (u, dur, ratio) in self.incident_draws
        ]

    @property
    def labels(self):
        return f'job="api",instance="{self.service}-0:8080",service="{self.service}"'

    def traffic(self, t):
        """Expected requests per second and error ratio at unix time t."""
        day_frac = (t / DAY) % 1.0
        rhythm = 1.0 + self.amplitude * math.cos(2 * math.pi * (day_frac - self.peak))
        weekday = time.gmtime(t).tm_wday
        weekly = 0.7 if weekday >= 5 else 1.0
        ratio = self.base_ratio
        for start, end, r in self.incidents:
            if start <= t < end:
                ratio = r
        return self.rps * rhythm * weekly, ratio


def step_increments(slo, t, scrape, rng):
    """Successful and failed requests during one scrape step (integers)."""
    rps, ratio = slo.traffic(t)
    expected = rps * scrape * (1.0 + 0.2 * (rng.random() - 0.5))
    total = int(expected + rng.random())  # stochastic rounding
    errors_expected = total * ratio * (1.0 + 0.5 * (rng.random() - 0.5))
    errors = min(total, int(errors_expected + rng.random()))
    return total - errors, errors


def make_slos(n, seed):
    return [Slo(i, seed) for i in range(n)]


# --------------------------------------------------------------------------
# History as OpenMetrics, and the state the live target continues from
# --------------------------------------------------------------------------


def write_openmetrics(path, n, days, scrape, seed, t_end):
    """Writes N SLOs' counters from t_end - days to t_end (exclusive).

    Timestamps are in SECONDS (FIELD-NOTES: milliseconds land in year 56000),
    samples are in time order per series, the file ends with `# EOF`.
    Returns the state the live target continues from.
    """
    t0 = math.floor((t_end - days * DAY) / scrape) * scrape
    steps = int((t_end - t0) // scrape)
    slos = make_slos(n, seed)
    state = {
        "seed": seed,
        "n": n,
        "scrape": scrape,
        "t_start": t0,
        "t_last": t0 + (steps - 1) * scrape,
        "counters": {},
        "samples": 0,
    }
    with open(path, "w", buffering=1 << 20) as out:
        out.write(f"# HELP {METRIC[:-6]} HTTP requests served.\n")
        out.write(f"# TYPE {METRIC[:-6]} counter\n")
        for slo in slos:
            slo.place_incidents(t0, t0 + steps * scrape)
            rng = random.Random(seed * 7_919 + slo.i)
            ok = err = 0
            ok_lines, err_lines = [], []
            head_ok = f'{METRIC}{{{slo.labels},code="200"}} '
            head_err = f'{METRIC}{{{slo.labels},code="500"}} '
            for k in range(steps):
                t = t0 + k * scrape
                d_ok, d_err = step_increments(slo, t, scrape, rng)
                ok += d_ok
                err += d_err
                ts = int(t)
                ok_lines.append(f"{head_ok}{ok} {ts}\n")
                err_lines.append(f"{head_err}{err} {ts}\n")
            out.writelines(ok_lines)
            out.writelines(err_lines)
            state["counters"][slo.service] = [ok, err]
            state["samples"] += 2 * steps
        out.write("# EOF\n")
    return state


class LiveCounters:
    """Continues the backfilled counters at wall-clock time."""

    def __init__(self, state):
        self.scrape = state["scrape"]
        self.slos = make_slos(state["n"], state["seed"])
        self.k = int((state["t_last"] - state["t_start"]) // self.scrape)
        self.t_start = state["t_start"]
        self.counters = {s: list(v) for s, v in state["counters"].items()}
        self.rng = random.Random(state["seed"] * 31 + 1)
        self.lock = threading.Lock()

    def render(self, now):
        with self.lock:
            k_now = int((now - self.t_start) // self.scrape)
            while self.k < k_now:
                self.k += 1
                t = self.t_start + self.k * self.scrape
                for slo in self.slos:
                    d_ok, d_err = step_increments(slo, t, self.scrape, self.rng)
                    c = self.counters[slo.service]
                    c[0] += d_ok
                    c[1] += d_err
            lines = [f"# TYPE {METRIC} counter\n"]
            for slo in self.slos:
                ok, err = self.counters[slo.service]
                lines.append(f'{METRIC}{{{slo.labels},code="200"}} {ok}\n')
                lines.append(f'{METRIC}{{{slo.labels},code="500"}} {err}\n')
            return "".join(lines).encode()


def serve(port, state_path):
    with open(state_path) as f:
        live = LiveCounters(json.load(f))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            if self.path.split("?")[0] != "/metrics":
                self.send_error(404)
                return
            body = live.render(time.time())
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.serve_forever()


# --------------------------------------------------------------------------
# Specs in our native format (slo/v1), one file per service
# --------------------------------------------------------------------------


def selectors(slo):
    errors = f'{METRIC}{{service="{slo.service}",code=~"5.."}}'
    total = f'{METRIC}{{service="{slo.service}"}}'
    return errors, total


def write_specs(directory, n, seed, kind="ratio"):
    """One spec per service: the availability SLO as a `ratio` SLI, or
    (`kind="slices"`) as good minutes: a `slices` SLI whose minute is good
    while its error ratio stays under ten times the budget."""
    os.makedirs(directory, exist_ok=True)
    for slo in make_slos(n, seed):
        errors, total = selectors(slo)
        if kind == "slices":
            sli = (
                f"      slices:\n"
                f"        query: 'sum(rate({errors}[1m])) / sum(rate({total}[1m]))'\n"
                f"        op: \"<\"\n"
                f"        threshold: {fmt(round(10 * slo.budget, 9))}\n"
                f"        slice: 1m\n"
            )
        else:
            sli = (
                f"      ratio:\n"
                f"        errors: '{errors}'\n"
                f"        total: '{total}'\n"
            )
        text = (
            f"# Generated by benches/rule-cost/fixtures.py (rule-cost benchmark).\n"
            f"version: slo/v1\n"
            f"service: {slo.service}\n"
            f"labels:\n"
            f"  team: team-{slo.i % 7}\n"
            f"slos:\n"
            f"  - name: {slo.name}\n"
            f"    description: Requests to {slo.service} that do not fail with a 5xx\n"
            f"    objective: {fmt(slo.objective)}\n"
            f"    period: 30d\n"
            f"    sli:\n"
            f"{sli}"
            f"    alerting:\n"
            f"      name: {camel(slo.service)}AvailabilityBurn\n"
            f"      windows: google-30d\n"
        )
        with open(os.path.join(directory, f"{slo.service}.yaml"), "w") as f:
            f.write(text)


def fmt(x):
    s = repr(float(x))
    return s[:-2] if s.endswith(".0") else s


def camel(service):
    return "".join(p.capitalize() for p in service.replace("_", "-").split("-"))


# --------------------------------------------------------------------------
# Rule files. Written as YAML by hand (no PyYAML): every expression is a
# block scalar, every label value is double-quoted.
# --------------------------------------------------------------------------


class RuleFile:
    def __init__(self, header):
        self.lines = [f"# {line}".rstrip() for line in header.splitlines()] + ["groups:"]

    def group(self, name, interval=None):
        self.lines.append(f"  - name: {name}")
        if interval:
            self.lines.append(f"    interval: {interval}")
        self.lines.append("    rules:")

    def rule(self, kind, name, expr, labels=None, annotations=None, for_=None):
        self.lines.append(f"      - {kind}: {name}")
        self.lines.append("        expr: |")
        for line in expr.strip("\n").splitlines():
            self.lines.append(f"          {line}")
        if for_:
            self.lines.append(f"        for: {for_}")
        for key, values in (("labels", labels), ("annotations", annotations)):
            if values:
                self.lines.append(f"        {key}:")
                for k, v in values.items():
                    self.lines.append(f"          {k}: {json.dumps(str(v))}")

    def write(self, path):
        with open(path, "w") as f:
            f.write("\n".join(self.lines) + "\n")


def matchers(labels):
    return ", ".join(f'{k}="{v}"' for k, v in labels.items())


def write_sloth(path, n, seed, period_rate=False):
    """Sloth's layout (FIELD-NOTES section 2), for each SLO:

    - group sloth-slo-sli-recordings-ID: slo:sli_error:ratio_rate{5m..3d} as
      raw rate() ratios, and slo:sli_error:ratio_rate30d, by default the time
      average of the 5m ratios (sum_over_time / count_over_time over 30d), or
      with period_rate a raw rate() ratio over 30d;
    - group sloth-slo-meta-recordings-ID: objective, budget, period, current
      and period burn rates, budget remaining, info;
    - group sloth-slo-alerts-ID: a page and a ticket alert over the window
      pairs, labelled sloth_severity.
    """
    variant = "rate over 30d" if period_rate else "sum_over_time/count_over_time of the 5m ratios"
    rf = RuleFile(
        "Sloth-style rules for the rule-cost benchmark, written from the layout\n"
        "described in FIELD-NOTES (not generated by Sloth).\n"
        f"Period rule: {variant}."
    )
    for slo in make_slos(n, seed):
        sid = f"{slo.service}-{slo.name}"
        ids = {"sloth_id": sid, "sloth_service": slo.service, "sloth_slo": slo.name}
        errors, total = selectors(slo)
        base = {"team": f"team-{slo.i % 7}", **ids}

        def ratio_expr(w):
            return (
                f"(sum(rate({errors}[{w}])))\n"
                f"/\n"
                f"(sum(rate({total}[{w}])))"
            )

        rf.group(f"sloth-slo-sli-recordings-{sid}")
        for w in SLOTH_WINDOWS:
            rf.rule("record", f"slo:sli_error:ratio_rate{w}", ratio_expr(w), {**base, "sloth_window": w})
        if period_rate:
            expr30 = ratio_expr("30d")
        else:
            sel = f"slo:sli_error:ratio_rate5m{{{matchers(ids)}}}[30d]"
            expr30 = f"sum_over_time({sel})\n/ ignoring (sloth_window)\ncount_over_time({sel})"
        rf.rule("record", "slo:sli_error:ratio_rate30d", expr30, {**base, "sloth_window": "30d"})

        rf.group(f"sloth-slo-meta-recordings-{sid}")
        obj = slo.objective / 100.0
        m = matchers(ids)
        on = "on (sloth_id, sloth_slo, sloth_service) group_left"
        rf.rule("record", "slo:objective:ratio", f"vector({obj!r})", base)
        rf.rule("record", "slo:error_budget:ratio", f"vector(1 - {obj!r})", base)
        rf.rule("record", "slo:time_period:days", "vector(30)", base)
        rf.rule(
            "record",
            "slo:current_burn_rate:ratio",
            f"slo:sli_error:ratio_rate5m{{{m}}}\n/ {on}\nslo:error_budget:ratio{{{m}}}",
            base,
        )
        rf.rule(
            "record",
            "slo:period_burn_rate:ratio",
            f"slo:sli_error:ratio_rate30d{{{m}}}\n/ {on}\nslo:error_budget:ratio{{{m}}}",
            base,
        )
        rf.rule(
            "record",
            "slo:period_error_budget_remaining:ratio",
            f"1 - slo:period_burn_rate:ratio{{{m}}}",
            base,
        )
        rf.rule(
            "record",
            "sloth_slo_info",
            "vector(1)",
            {**base, "sloth_mode": "cli-gen-prom", "sloth_objective": fmt(slo.objective)},
        )

        rf.group(f"sloth-slo-alerts-{sid}")
        budget = 1.0 - obj
        for sev in ("page", "ticket"):
            terms = []
            for s, long_w, short_w, f in PAIRS:
                if s != sev:
                    continue
                terms.append(
                    "(\n"
                    f"    max(slo:sli_error:ratio_rate{short_w}{{{m}}} > ({fmt(f)} * {budget!r})) without (sloth_window)\n"
                    "    and\n"
                    f"    max(slo:sli_error:ratio_rate{long_w}{{{m}}} > ({fmt(f)} * {budget!r})) without (sloth_window)\n"
                    ")"
                )
            rf.rule(
                "alert",
                f"{camel(slo.service)}AvailabilityBurn",
                "\nor\n".join(terms),
                {"team": base["team"], "sloth_severity": sev},
                {
                    "title": "(" + sev + ") {{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is too fast.",
                    "summary": "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is over expected.",
                },
            )
    rf.write(path)


def write_reference(path, n, seed):
    """The layout FIELD-NOTES ("Where rule cost lives") recommends, by hand.

    - group slo-increase-ID, interval 5m: bad and total increases over 5m; the
      group's interval equals the range, so the recorded steps tile time;
    - group slo-raw-ID: error ratios over 5m, 30m and 1h from raw rate(), so
      fast pages stay fast;
    - group slo-derived-ID: 2h, 6h, 1d, 3d and the 30d period as
      sum_over_time(bad) / sum_over_time(total) over the 5m increases, plus the
      budget remaining;
    - group slo-alerts-ID: page and ticket alerts over the pairs.

    This is a stand-in for `slo-eval generate` while that does not exist; the
    real generator's output is measured when it is given.
    """
    rf = RuleFile(
        "Reference layout for the rule-cost benchmark (FIELD-NOTES 'Where rule\n"
        "cost lives'): 5m increases in a 5m group, long windows and the period\n"
        "derived from them, short windows on raw series. Hand-written stand-in."
    )
    raw_windows = ["5m", "30m", "1h"]
    derived_windows = ["2h", "6h", "1d", "3d", "30d"]
    for slo in make_slos(n, seed):
        ids = {"slo_service": slo.service, "slo": slo.name}
        base = {"team": f"team-{slo.i % 7}", **ids}
        m = matchers(ids)
        errors, total = selectors(slo)
        gid = f"{slo.service}-{slo.name}"

        rf.group(f"slo-increase-{gid}", interval="5m")
        rf.rule("record", "slo:sli_bad:increase5m", f"sum(increase({errors}[5m]))", base)
        rf.rule("record", "slo:sli_total:increase5m", f"sum(increase({total}[5m]))", base)

        rf.group(f"slo-raw-{gid}")
        for w in raw_windows:
            rf.rule(
                "record",
                f"slo:sli_error:ratio_rate{w}",
                f"sum(rate({errors}[{w}]))\n/\nsum(rate({total}[{w}]))",
                {**base, "slo_window": w},
            )

        rf.group(f"slo-derived-{gid}")
        for w in derived_windows:
            rf.rule(
                "record",
                f"slo:sli_error:ratio_rate{w}",
                f"sum_over_time(slo:sli_bad:increase5m{{{m}}}[{w}])\n/\n"
                f"sum_over_time(slo:sli_total:increase5m{{{m}}}[{w}])",
                {**base, "slo_window": w},
            )
        rf.rule(
            "record",
            "slo:error_budget_remaining:ratio",
            f"1 - slo:sli_error:ratio_rate30d{{{m}}} / {1.0 - slo.objective / 100.0!r}",
            base,
        )

        rf.group(f"slo-alerts-{gid}")
        budget = 1.0 - slo.objective / 100.0
        for sev in ("page", "ticket"):
            terms = []
            for s, long_w, short_w, f in PAIRS:
                if s != sev:
                    continue
                thr = f * budget
                terms.append(
                    "(\n"
                    f"    max without (slo_window) (slo:sli_error:ratio_rate{long_w}{{{m}}} > {thr!r})\n"
                    "    and\n"
                    f"    max without (slo_window) (slo:sli_error:ratio_rate{short_w}{{{m}}} > {thr!r})\n"
                    ")"
                )
            rf.rule(
                "alert",
                f"{camel(slo.service)}AvailabilityBurn",
                "\nor\n".join(terms),
                {"team": base["team"], "slo_tier": sev, "severity": sev},
                {"summary": f"{slo.service} {slo.name} is burning its error budget too fast ({sev})"},
            )
    rf.write(path)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    om = sub.add_parser("openmetrics")
    om.add_argument("out")
    om.add_argument("--state", required=True)
    om.add_argument("--days", type=float, default=7)
    om.add_argument("--scrape", type=float, default=30)
    om.add_argument("--end", type=float, default=None, help="unix time the history ends (default: now)")
    sv = sub.add_parser("serve")
    sv.add_argument("port", type=int)
    sv.add_argument("state")
    sp = sub.add_parser("specs")
    sp.add_argument("dir")
    sl = sub.add_parser("sloth")
    sl.add_argument("out")
    sl.add_argument("--period-rate", action="store_true")
    rf = sub.add_parser("reference")
    rf.add_argument("out")
    for s in (om, sp, sl, rf):
        s.add_argument("--slos", type=int, default=100)
        s.add_argument("--seed", type=int, default=1)
    a = p.parse_args(argv)
    if a.cmd == "openmetrics":
        end = a.end if a.end is not None else time.time()
        state = write_openmetrics(a.out, a.slos, a.days, a.scrape, a.seed, end)
        with open(a.state, "w") as f:
            json.dump(state, f)
        print(f"{state['samples']} samples, {2 * a.slos} series", file=sys.stderr)
    elif a.cmd == "serve":
        serve(a.port, a.state)
    elif a.cmd == "specs":
        write_specs(a.dir, a.slos, a.seed)
    elif a.cmd == "sloth":
        write_sloth(a.out, a.slos, a.seed, a.period_rate)
    elif a.cmd == "reference":
        write_reference(a.out, a.slos, a.seed)


if __name__ == "__main__":
    main()
