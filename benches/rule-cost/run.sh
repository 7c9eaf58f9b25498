#!/usr/bin/env bash
# Rule-cost benchmark: what Prometheus spends evaluating our SLO rules and
# Sloth-style rules for the same SLOs. See README.md. Not run in CI (slow).
#
#   bash benches/rule-cost/run.sh [N_SLOS] [DAYS] [extra harness.py flags]
#
# Environment: OURS_RULES=FILE (our rule file), SLO_EVAL=BIN (generate it with
# `BIN generate SPECS`), LAYOUTS=sloth,sloth-rate30d,ours[,reference],
# MEASURE=seconds per layout, ROUNDS=n, KEEP=1 (keep the work folder).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
n="${1:-100}"
days="${2:-7}"
shift $(( $# < 2 ? $# : 2 ))

for tool in python3 prometheus promtool; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool not found on PATH" >&2; exit 2; }
done

work="$(mktemp -d "${TMPDIR:-/tmp}/rule-cost.XXXXXX")"
cleanup() {
  # harness.py stops Prometheus itself and removes the pid file; this only
  # catches a harness that died hard. The pid is checked to be our Prometheus.
  if [[ -f "$work/prometheus.pid" ]]; then
    pid="$(cat "$work/prometheus.pid")"
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "--storage.tsdb.path=$work/"; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  if [[ "${KEEP:-0}" == 1 ]]; then echo "run.sh: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

args=(--slos "$n" --days "$days" --workdir "$work")
[[ -n "${OURS_RULES:-}" ]] && args+=(--ours-rules "$OURS_RULES")
[[ -n "${SLO_EVAL:-}" ]] && args+=(--slo-eval "$SLO_EVAL")
[[ -n "${LAYOUTS:-}" ]] && args+=(--layouts "$LAYOUTS")
[[ -n "${MEASURE:-}" ]] && args+=(--measure "$MEASURE")
[[ -n "${ROUNDS:-}" ]] && args+=(--rounds "$ROUNDS")

python3 "$here/harness.py" "${args[@]}" "$@"
