#!/usr/bin/env bash
# Times `keyway get --backend keyring` against `secret-tool lookup` and python keyring on the same item, in one run,
# inside a private keyring (scripts/with-keyring). The keyway measured is the release binary the README's install
# command builds (scripts/build-release). The commands run alternately (bench/interleave.c: each iteration runs each
# command once, in a rotating order, without a shell in between), because this machine's speed drifts by more than
# the margin measured: timing one command's runs back to back, as hyperfine does, favoured whichever ran last.
# Usage: bench/keyring.sh [RUNS]   (default 100 runs per command)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
if [[ "${KEYWAY_BENCH_INSIDE:-}" != 1 ]]; then
  bench_setup >/dev/null
  keyway="$(bench_build_release)"
  interleave="$(bench_interleave)"
  exec env KEYWAY_BENCH_INSIDE=1 KEYWAY_BENCH_BIN="$keyway" KEYWAY_BENCH_INTERLEAVE="$interleave" \
    scripts/with-keyring "$0" "$@"
fi
runs="${1:-100}"
keyway="$KEYWAY_BENCH_BIN"
printf '%s' 'bench_key_0123456789abcdef' | secret-tool store --label=bench service keyway-bench username default

expected=bench_key_0123456789abcdef
[[ "$("$keyway" get keyway-bench --backend keyring)" == "$expected" ]] || { echo "keyway get failed" >&2; exit 1; }
[[ "$(secret-tool lookup service keyway-bench username default)" == "$expected" ]] ||
  { echo "secret-tool failed" >&2; exit 1; }
python_get='import keyring; print(keyring.get_password("keyway-bench", "default"))'
[[ "$(/usr/bin/python3 -c "$python_get")" == "$expected" ]] || { echo "python keyring failed" >&2; exit 1; }
echo "runs per command: $runs; keyway: $keyway; $(nproc) cores, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
out="$("$KEYWAY_BENCH_INTERLEAVE" "$runs" 5 \
  -- "keyway get --backend keyring" "$keyway" get keyway-bench --backend keyring \
  -- "secret-tool lookup" secret-tool lookup service keyway-bench username default \
  -- "python3 keyring.get_password" /usr/bin/python3 -c "$python_get" \
  -- "keyway --version (start-up floor)" "$keyway" --version)"
echo "$out"
awk '
  $1 == "keyway" && $2 == "get" { k = $5 + 0 }
  $1 == "secret-tool" { s = $3 + 0 }
  $1 == "python3" { p = $3 + 0 }
  END {
    printf "keyway / secret-tool: %.2fx (target <= 1.2x)\n", k / s
    printf "python keyring / keyway: %.1fx faster (target >= 10x)\n", p / k }' <<<"$out"
