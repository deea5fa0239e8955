#!/usr/bin/env bash
# keyway run: the unmasked exec path's overhead (resolution + exec) against `sh -c true` and `keyway get`, and the
# masked path's throughput on 100 MB of output against `cat` and a `sed` replacement pipeline. One interleaved run
# each (bench/interleave.c), release build (scripts/build-release), plaintext store in a throwaway directory.
#
#   bench/run.sh [RUNS]      (default 200 start-up runs, 15 throughput runs)
#
# Every command goes through `sh -c 'exec ...'` (interleave cannot pass a `--` argument), the same for all.
source "$(dirname "$0")/lib.sh"
runs="${1:-200}"
keyway="$(bench_build_release)"
interleave="$(bench_interleave)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export HOME="$work/home" KEYWAY_CONFIG_DIR="$work/config" KEYWAY_BACKEND=plaintext
mkdir -p "$HOME"
key="rfx_bench_run_0123456789abcdef"
"$keyway" login reflex --api-key "$key" >/dev/null 2>&1

echo "== start-up (ms): keyway run reflex -- true vs sh -c true vs keyway get reflex"
"$interleave" "$runs" 10 \
  -- get /bin/sh -c "exec '$keyway' get reflex" \
  -- run /bin/sh -c "exec '$keyway' run reflex --no-mask -- true" \
  -- true /bin/sh -c "exec true"

# 100 MB of text lines, one key every 1000 lines.
data="$work/100mb.txt"
python3 - "$data" "$key" <<'PY'
import sys
path, key = sys.argv[1], sys.argv[2]
line = b"lorem ipsum dolor sit amet, consectetur adipiscing elit 0123456789 abcdefghij\n"
with open(path, "wb") as f:
    written = 0
    i = 0
    while written < 100 * 1000 * 1000:
        chunk = line if i % 1000 else b"token " + key.encode() + b"\n"
        f.write(chunk)
        written += len(chunk)
        i += 1
PY
echo "== 100 MB of output (ms): keyway run --mask -- cat vs cat, cat | cat (the floor of any relay through a pipe) and sed"
"$interleave" "${2:-15}" 2 \
  -- cat /bin/sh -c "exec cat '$data'" \
  -- mask /bin/sh -c "exec '$keyway' run reflex --mask -- cat '$data'" \
  -- cat-pipe-cat /bin/sh -c "cat '$data' | cat" \
  -- sed /bin/sh -c "exec sed 's/$key/<keyway:reflex>/g' '$data'"
