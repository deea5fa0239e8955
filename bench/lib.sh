# Shared pieces of the benchmark scripts (sourced, not run).
set -euo pipefail
bench_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Installs hyperfine (Debian) when missing, and the project's build dependencies.
bench_setup() {
  "$bench_root/scripts/install-deps"
  if ! command -v hyperfine >/dev/null; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
  fi
}

# Builds the release binary the README's install command builds (scripts/build-release) and prints its path.
bench_build_release() {
  "$bench_root/scripts/build-release" --scratch-path "$bench_root/.build-static" "$@"
}

# Builds bench/interleave.c (runs commands alternately; see the file) with the Swift toolchain's clang and prints
# the binary's path.
bench_interleave() {
  local out="$bench_root/.build-static/interleave"
  local clang; clang="$(dirname "$(readlink -f "$(command -v swift)")")/clang"
  mkdir -p "$(dirname "$out")"
  if [ ! -x "$out" ] || [ "$bench_root/bench/interleave.c" -nt "$out" ]; then
    "$clang" -O2 -Wall -Wextra -Werror -o "$out" "$bench_root/bench/interleave.c" >&2
  fi
  echo "$out"
}

# A throwaway virtualenv with the given PyPI packages; prints its python.
bench_venv() {
  local dir="$1"; shift
  if [ ! -x "$dir/bin/python" ]; then
    python3 -m venv "$dir" >&2
    "$dir/bin/pip" install -q --disable-pip-version-check "$@" >&2
  fi
  echo "$dir/bin/python"
}

# Runs hyperfine over named commands and prints median, mean and the ratio of each to the first.
# Usage: bench_compare RUNS name1 cmd1 name2 cmd2 ...
bench_compare() {
  local runs="$1"; shift
  local json; json="$(mktemp)"
  local args=()
  while [ $# -gt 0 ]; do args+=(--command-name "$1" "$2"); shift 2; done
  hyperfine --style none --warmup 5 --runs "$runs" -N --export-json "$json" "${args[@]}" >/dev/null
  python3 - "$json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
base = results[0]["median"]
print(f"{'command':<34} {'median':>10} {'mean':>10} {'min':>10}   ratio to first")
for r in results:
    print(f"{r['command']:<34} {r['median']*1000:>8.2f}ms {r['mean']*1000:>8.2f}ms {r['min']*1000:>8.2f}ms   {r['median']/base:>6.2f}x")
PY
  rm -f "$json"
}
