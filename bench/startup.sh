#!/usr/bin/env bash
# Start-up: `keyway --version` and `keyway get` on the plaintext backend (the installed build, scripts/build-release),
# the shared objects each loads (LD_DEBUG=libs), and, given another keyway binary (a release build of an older
# commit, say), both interleaved in one run (bench/interleave.c), so that the machine's drift affects both alike.
#
#   bench/startup.sh [RUNS] [OTHER-KEYWAY]      (default 500 runs of each command)
source "$(dirname "$0")/lib.sh"
runs="${1:-500}"
other="${2:-}"
keyway="$(bench_build_release)"
interleave="$(bench_interleave)"
work="$(mktemp -d /tmp/keyway-bench-XXXXXX)"
trap 'rm -rf "$work"' EXIT
export HOME="$work/home" KEYWAY_CONFIG_DIR="$work/config" KEYWAY_BACKEND=plaintext
mkdir -p "$HOME"
key="rfx_bench_startup_0123456789abcdef"
"$keyway" login reflex --api-key "$key" >/dev/null
# A realistic file: 50 other apps.
for i in $(seq 1 50); do "$keyway" login "app$i" --api-key "k$i-$key" >/dev/null; done

# The shared objects a run initialises (at exec time, or by dlopen), by file name.
objects() { LD_DEBUG=libs "$@" 2>&1 >/dev/null | sed -n 's|.*calling init: .*/||p' | tr '\n' ' '; }
binaries=("$keyway")
[ -n "$other" ] && binaries+=("$other")
for binary in "${binaries[@]}"; do
  [ "$("$binary" get reflex)" = "$key" ] || { echo "$binary get returned the wrong key" >&2; exit 1; }
  echo "$binary get loads: $(objects "$binary" get reflex)"
done

echo "keyway $("$keyway" --version), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uptime)"
commands=(-- "get" "$keyway" get reflex -- "--version" "$keyway" --version)
[ -n "$other" ] && commands+=(-- "get (other)" "$other" get reflex -- "--version (other)" "$other" --version)
"$interleave" "$runs" 20 "${commands[@]}"
echo "after: $(uptime)"
