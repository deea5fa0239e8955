#!/usr/bin/env bash
# Times `keyway get --backend keyring` (release build) against `secret-tool lookup` and python keyring on the same
# item, in one run, inside a private keyring (scripts/with-keyring). Prints medians and ratios.
# Usage: bench/keyring.sh [RUNS]   (default 50 runs per tool)
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${KEYWAY_BENCH_INSIDE:-}" != 1 ]]; then
  swift build -c release --product keyway >/dev/null
  exec env KEYWAY_BENCH_INSIDE=1 scripts/with-keyring "$0" "$@"
fi
runs="${1:-50}"
keyway="$(swift build -c release --show-bin-path)/keyway"
printf '%s' 'bench_key_0123456789abcdef' | secret-tool store --label=bench service keyway-bench username default

# median_ms CMD...: runs CMD $runs times (after 3 warm-ups), prints the median wall time in milliseconds.
median_ms() {
  for _ in 1 2 3; do "$@" >/dev/null; done
  for _ in $(seq "$runs"); do
    local start end
    start=$(date +%s%N); "$@" >/dev/null; end=$(date +%s%N)
    echo $(( (end - start) / 1000 ))
  done | sort -n | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.2f", m / 1000 }'
}

[[ "$("$keyway" get keyway-bench --backend keyring)" == bench_key_0123456789abcdef ]] || { echo "keyway get failed" >&2; exit 1; }
k=$(median_ms "$keyway" get keyway-bench --backend keyring)
s=$(median_ms secret-tool lookup service keyway-bench username default)
p=$(median_ms /usr/bin/python3 -c 'import keyring; print(keyring.get_password("keyway-bench", "default"))')
echo "runs per tool: $runs (median wall time)"
printf '%-36s %8s ms\n' "keyway get --backend keyring" "$k" "secret-tool lookup" "$s" "python3 keyring.get_password" "$p"
awk -v k="$k" -v s="$s" -v p="$p" 'BEGIN {
  printf "keyway / secret-tool: %.2fx (target <= 1.2x)\n", k / s
  printf "python keyring / keyway: %.1fx faster (target >= 10x)\n", p / k }'
