#!/usr/bin/env bash
# The git-leak check's cost: outside any repository it must cost no subprocess and well under a millisecond; git is
# consulted only inside one. Prints per-check times and counts the processes `keyway get` starts in both cases.
source "$(dirname "$0")/lib.sh"
bench_setup
command -v strace >/dev/null || { sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"; $sudo apt-get install -y -qq strace >/dev/null; }
keyway="$(bench_build_release)"
bench="$(bench_build_release --product GitCheckBench)"
work="$(mktemp -d /tmp/keyway-gitbench-XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/plain/a/b/c/d" "$work/repo/x/y"
git -C "$work/repo" init -q
echo '{"api_key": "rfx_0123456789abcdef"}' > "$work/plain/a/b/c/d/credentials.json"
echo '{"api_key": "rfx_0123456789abcdef"}' > "$work/repo/x/y/credentials.json"
chmod 600 "$work"/*/*/*/credentials.json "$work/plain/a/b/c/d/credentials.json" 2>/dev/null || true
"$bench" "$work/plain/a/b/c/d/credentials.json" "$work/repo/x/y/credentials.json"

export KEYWAY_BACKEND=plaintext KEYWAY_CONFIG_DIR="$work/cfg"
for where in plain repo; do
  dir="$(ls -d "$work/$where"/*/*/ 2>/dev/null | head -1)"
  dir="${dir:-$work/$where}"
  processes=$(cd "$work" && REFLEX_CONFIG_FILE="$(find "$work/$where" -name credentials.json)" \
    strace -f -e trace=execve -o "$work/trace" "$keyway" get reflex >/dev/null 2>&1; grep -c 'execve(.*) = 0' "$work/trace")
  echo "keyway get reflex with the file in $where: $((processes - 1)) subprocess(es) started"
done
