#!/usr/bin/env bash
# Times `keyway get --backend keyring` against `secret-tool lookup` and python keyring on the same item, in one run,
# inside a private keyring (scripts/with-keyring). The keyway measured is the release binary the README's install
# command builds (static Swift runtime, bench_build_release); each tool's wall time is taken by hyperfine without a
# shell in between, so the ratios compare the programs alone.
# Usage: bench/keyring.sh [RUNS]   (default 50 runs per tool)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
if [[ "${KEYWAY_BENCH_INSIDE:-}" != 1 ]]; then
  bench_setup >/dev/null
  keyway="$(bench_build_release)"
  exec env KEYWAY_BENCH_INSIDE=1 KEYWAY_BENCH_BIN="$keyway" scripts/with-keyring "$0" "$@"
fi
runs="${1:-50}"
keyway="$KEYWAY_BENCH_BIN"
printf '%s' 'bench_key_0123456789abcdef' | secret-tool store --label=bench service keyway-bench username default

[[ "$("$keyway" get keyway-bench --backend keyring)" == bench_key_0123456789abcdef ]] || { echo "keyway get failed" >&2; exit 1; }
echo "runs per tool: $runs; keyway: $keyway"
out="$(bench_compare "$runs" \
  "keyway get --backend keyring" "$keyway get keyway-bench --backend keyring" \
  "secret-tool lookup" "secret-tool lookup service keyway-bench username default" \
  "python3 keyring.get_password" "/usr/bin/python3 -c 'import keyring; print(keyring.get_password(\"keyway-bench\", \"default\"))'" \
  "keyway --version (start-up floor)" "$keyway --version")"
echo "$out"
awk '
  $1 == "keyway" && $2 == "get" { k = $5 + 0 }
  $1 == "secret-tool" { s = $3 + 0 }
  $1 == "python3" { p = $3 + 0 }
  END {
    printf "keyway / secret-tool: %.2fx (target <= 1.2x)\n", k / s
    printf "python keyring / keyway: %.1fx faster (target >= 10x)\n", p / k }' <<<"$out"
