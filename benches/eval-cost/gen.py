#!/usr/bin/env python3
"""Writes history and specs for N SLOs: OpenMetrics text (timestamps in
seconds) with one request counter pair per SLO, and one slo/v1 spec file per
service (10 SLOs each). Optional 5th argument: the sample step in seconds
(default 60). Also writes `last.json`, each series' last value and rate, for
a live exporter to continue from (benches/daemon-cost/exporter.py)."""
import json, math, os, sys

n_slos, hours, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
end = int(sys.argv[4])
step = int(sys.argv[5]) if len(sys.argv) > 5 else 60
last = []
start = end - hours * 3600
os.makedirs(f"{out}/specs", exist_ok=True)
with open(f"{out}/history.om", "w") as f:
    f.write("# TYPE http_requests counter\n")
    for i in range(n_slos):
        svc, slo = f"svc-{i // 10:03d}", f"slo-{i % 10}"
        rate = 5 + (i % 7)
        ok = bad = 0.0
        lines_ok, lines_bad = [], []
        for t in range(start, end + 1, step):
            lines_ok.append(f'http_requests_total{{service="{svc}",slo="{slo}",code="200"}} {int(ok)} {t}\n')
            lines_bad.append(f'http_requests_total{{service="{svc}",slo="{slo}",code="500"}} {int(bad)} {t}\n')
            daily = 1 + 0.5 * math.sin(2 * math.pi * (t % 86400) / 86400)
            e = 0.2 if (i % 13 == 0 and end - 3600 <= t) else 0.0005
            n = rate * daily * step
            ok += n * (1 - e)
            bad += n * e
        f.writelines(lines_ok)
        f.writelines(lines_bad)
        last.append({"service": svc, "slo": slo, "ok": ok, "bad": bad, "rate": rate,
                     "error": 0.2 if i % 13 == 0 else 0.0005})
    f.write("# EOF\n")
with open(f"{out}/last.json", "w") as f:
    json.dump({"end": end, "series": last}, f)
for s in range(math.ceil(n_slos / 10)):
    svc = f"svc-{s:03d}"
    with open(f"{out}/specs/{svc}.yaml", "w") as f:
        f.write(f"version: slo/v1\nservice: {svc}\nslos:\n")
        for k in range(10):
            if s * 10 + k >= n_slos:
                break
            f.write(
                f"  - name: slo-{k}\n    objective: 99.9\n    sli:\n      ratio:\n"
                f'        errors: http_requests_total{{service="{svc}",slo="slo-{k}",code="500"}}\n'
                f'        total: http_requests_total{{service="{svc}",slo="slo-{k}"}}\n'
            )
