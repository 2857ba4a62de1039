#!/usr/bin/env bash
# CPU time (user + system) of the tools' start-up, averaged over N runs:
#   scripts/measure-startup.sh [runs]
# Compares the compiled tools (what `pnpm exchange`, `pnpm replay` and
# `pnpm start` run) with compiling the TypeScript on the fly with tsx (what
# they ran before). docs/benchmarks.md, "Start-up of the tools".
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
measure() {
  local label=$1; shift
  TIMEFORMAT='%U %S'
  local total=0
  for _ in $(seq "$runs"); do
    local t
    t=$( { time "$@" >/dev/null 2>&1; } 2>&1 )
    total=$(awk -v a="$total" -v b="$t" 'BEGIN { split(b, p, " "); print a + p[1] + p[2] }')
  done
  awk -v label="$label" -v total="$total" -v runs="$runs" 'BEGIN { printf "%-62s %6.3f s CPU\n", label, total / runs }'
}
node scripts/build.mjs >/dev/null
measure 'pnpm exchange --help (compiled)' pnpm -s exchange --help
measure 'pnpm replay --help (compiled)' pnpm -s replay --help
measure 'node …launch.mjs client/cli.js --help (compiled, no pnpm)' node --conditions=vex-compiled scripts/launch.mjs client/cli.js --help
measure 'node …launch.mjs replayer/cli.js --help (compiled, no pnpm)' node --conditions=vex-compiled scripts/launch.mjs replayer/cli.js --help
measure 'pnpm exec tsx packages/client/src/cli.ts --help (before)' pnpm -s exec tsx packages/client/src/cli.ts --help
measure 'pnpm exec tsx packages/replayer/src/cli.ts --help (before)' pnpm -s exec tsx packages/replayer/src/cli.ts --help
measure 'node -e 0 (Node itself)' node -e 0
measure 'pnpm -s exec node -e 0 (pnpm itself)' pnpm -s exec node -e 0
