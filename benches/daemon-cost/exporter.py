#!/usr/bin/env python3
"""A live target for the daemon-cost bench: serves every SLO's request
counters on 127.0.0.1:PORT/metrics, continuing the backfilled history from
`last.json` (written by ../eval-cost/gen.py) at the same rates, so windows
ending now have fresh samples as they would under a real scrape."""
import http.server, json, sys, time

data = json.load(open(sys.argv[1]))
port = int(sys.argv[2])
end = data["end"]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        dt = max(0.0, time.time() - end)
        out = ["# TYPE http_requests_total counter\n"]
        for s in data["series"]:
            n = s["rate"] * dt
            labels = f'service="{s["service"]}",slo="{s["slo"]}"'
            out.append(f'http_requests_total{{{labels},code="200"}} {s["ok"] + n * (1 - s["error"]):.3f}\n')
            out.append(f'http_requests_total{{{labels},code="500"}} {s["bad"] + n * s["error"]:.3f}\n')
        body = "".join(out).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
