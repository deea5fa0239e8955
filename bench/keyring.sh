#!/usr/bin/env bash
# Times `keyway get --backend keyring` against `secret-tool lookup` and python keyring on the same item, in one run,
# inside a private keyring (scripts/with-keyring). The keyway measured is the release binary the README's install
# command builds (scripts/build-release); each tool's wall time is taken by hyperfine without a shell in between, so
# the ratios compare the programs alone.
#
# The tools are timed in ROUNDS rounds (default 3), the order reversed every other round, because hyperfine times one
# command's runs back to back and a machine's speed drifts between blocks; every round is printed, and the ratios
# reported are the medians of the rounds' ratios.
# Usage: bench/keyring.sh [RUNS]   (default 50 runs per tool and round; ROUNDS=N for more rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
if [[ "${KEYWAY_BENCH_INSIDE:-}" != 1 ]]; then
  bench_setup >/dev/null
  keyway="$(bench_build_release)"
  exec env KEYWAY_BENCH_INSIDE=1 KEYWAY_BENCH_BIN="$keyway" scripts/with-keyring "$0" "$@"
fi
runs="${1:-50}"
rounds="${ROUNDS:-3}"
keyway="$KEYWAY_BENCH_BIN"
printf '%s' 'bench_key_0123456789abcdef' | secret-tool store --label=bench service keyway-bench username default

[[ "$("$keyway" get keyway-bench --backend keyring)" == bench_key_0123456789abcdef ]] || { echo "keyway get failed" >&2; exit 1; }
[[ "$(secret-tool lookup service keyway-bench username default)" == bench_key_0123456789abcdef ]] || { echo "secret-tool failed" >&2; exit 1; }
echo "runs per tool and round: $runs; rounds: $rounds; keyway: $keyway; $(nproc) cores, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
names=("keyway get --backend keyring" "secret-tool lookup" "python3 keyring.get_password" "keyway --version")
commands=(
  "$keyway get keyway-bench --backend keyring"
  "secret-tool lookup service keyway-bench username default"
  "/usr/bin/python3 -c 'import keyring; print(keyring.get_password(\"keyway-bench\", \"default\"))'"
  "$keyway --version")
results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT
for round in $(seq 1 "$rounds"); do
  order=(0 1 2 3)
  (( round % 2 == 0 )) && order=(3 2 1 0)
  args=()
  for i in "${order[@]}"; do args+=(--command-name "${names[$i]}" "${commands[$i]}"); done
  hyperfine --style none --warmup 5 --runs "$runs" -N --export-json "$results/round$round.json" "${args[@]}" >/dev/null
done
python3 - "$results" "$rounds" <<'PY'
import json, statistics, sys
directory, rounds = sys.argv[1], int(sys.argv[2])
ratios_st, ratios_py = [], []
for r in range(1, rounds + 1):
    results = {x["command"]: x for x in json.load(open(f"{directory}/round{r}.json"))["results"]}
    k = results["keyway get --backend keyring"]["median"]
    s = results["secret-tool lookup"]["median"]
    p = results["python3 keyring.get_password"]["median"]
    v = results["keyway --version"]["median"]
    ratios_st.append(k / s)
    ratios_py.append(p / k)
    print(f"round {r}: keyway get {k*1000:.2f} ms, secret-tool {s*1000:.2f} ms, python keyring {p*1000:.2f} ms, "
          f"keyway --version {v*1000:.2f} ms; keyway/secret-tool {k/s:.3f}x, python/keyway {p/k:.1f}x")
print(f"keyway / secret-tool: {statistics.median(ratios_st):.2f}x median of {rounds} rounds (target <= 1.2x)")
print(f"python keyring / keyway: {statistics.median(ratios_py):.1f}x faster, median of {rounds} rounds (target >= 10x)")
PY
