#!/usr/bin/env bash
# Times git's and docker's credential helpers on the same entry, inside a private D-Bus session with gnome-keyring
# (scripts/with-keyring): `git credential fill` through `!keyway git-credential` on the keyring, encrypted and
# plaintext backends against git-credential-libsecret (built from git's contrib sources) and git-credential-store;
# `docker-credential-keyway get` (keyring) against docker-credential-secretservice get. The keyway measured is the
# release binary the README's install command builds (scripts/build-release). Commands run alternately
# (bench/interleave.c); each reads its request from a file through `sh -c 'exec ... < FILE'`, the same shell cost for
# every command. Targets (issue 15): keyway's keyring helper within 1.3x of libsecret's C helper.
# Usage: bench/credhelper.sh [RUNS]   (default 100)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
if [[ "${KEYWAY_BENCH_INSIDE:-}" != 1 ]]; then
  bench_setup >/dev/null
  keyway="$(bench_build_release)"
  interleave="$(bench_interleave)"
  libsecret="$bench_root/.build-static/git-credential-libsecret"
  # shellcheck disable=SC2046
  gcc -O2 -o "$libsecret" /usr/share/doc/git/contrib/credential/libsecret/git-credential-libsecret.c \
    $(pkg-config --cflags --libs libsecret-1 glib-2.0)
  exec env KEYWAY_BENCH_INSIDE=1 KEYWAY_BENCH_BIN="$keyway" KEYWAY_BENCH_INTERLEAVE="$interleave" \
    KEYWAY_BENCH_LIBSECRET="$libsecret" scripts/with-keyring --provider gnome-keyring "$0" "$@"
fi
runs="${1:-100}"
keyway="$KEYWAY_BENCH_BIN"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export HOME="$work/home" KEYWAY_CONFIG_DIR="$work/config" GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
mkdir -p "$HOME" "$work/bin"
ln -s "$keyway" "$work/bin/docker-credential-keyway"
vault_key=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
entry=$'protocol=https\nhost=bench.example\nusername=alice\npassword=bench-password-0123456789\n'
printf 'protocol=https\nhost=bench.example\n\n' >"$work/request"
printf 'https://bench.example\n' >"$work/docker-request"

# The same entry in every helper.
helper() { echo "credential.helper=$1"; }
printf '%s\n' "$entry" | git -c "$(helper "!KEYWAY_BACKEND=keyring $keyway git-credential")" credential approve
printf '%s\n' "$entry" | git -c "$(helper "!KEYWAY_BACKEND=plaintext $keyway git-credential")" credential approve
printf '%s\n' "$entry" | KEYWAY_VAULT_KEY=$vault_key git -c "$(helper "!KEYWAY_BACKEND=encrypted $keyway git-credential")" \
  credential approve
printf '%s\n' "$entry" | git -c "$(helper "$KEYWAY_BENCH_LIBSECRET")" credential approve
printf '%s\n' "$entry" | git -c "$(helper "store --file $work/git-credentials")" credential approve
echo '{"ServerURL":"https://bench.example","Username":"alice","Secret":"bench-docker-0123456789"}' |
  docker-credential-secretservice store
echo '{"ServerURL":"https://bench.example","Username":"alice","Secret":"bench-docker-0123456789"}' |
  KEYWAY_BACKEND=keyring "$work/bin/docker-credential-keyway" store

fill() { echo "exec git -c 'credential.helper=$1' credential fill < '$work/request'"; }
check() {
  local out; out="$(sh -c "$1")"
  [[ "$out" == *"password=bench-password-0123456789"* ]] || { echo "no password from: $1" >&2; exit 1; }
}
for h in "!KEYWAY_BACKEND=keyring $keyway git-credential" "!KEYWAY_BACKEND=plaintext $keyway git-credential" \
  "$KEYWAY_BENCH_LIBSECRET" "store --file $work/git-credentials"; do
  check "$(fill "$h")"
done
KEYWAY_VAULT_KEY=$vault_key check "$(fill "!KEYWAY_BACKEND=encrypted $keyway git-credential")"
export KEYWAY_VAULT_KEY=$vault_key
echo "git credential fill; runs per command: $runs; keyway: $keyway; $(nproc) cores, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
out="$("$KEYWAY_BENCH_INTERLEAVE" "$runs" 5 \
  -- "keyway keyring" sh -c "$(fill "!KEYWAY_BACKEND=keyring $keyway git-credential")" \
  -- "git-credential-libsecret" sh -c "$(fill "$KEYWAY_BENCH_LIBSECRET")" \
  -- "keyway encrypted" sh -c "$(fill "!KEYWAY_BACKEND=encrypted $keyway git-credential")" \
  -- "keyway plaintext" sh -c "$(fill "!KEYWAY_BACKEND=plaintext $keyway git-credential")" \
  -- "git-credential-store" sh -c "$(fill "store --file $work/git-credentials")")"
echo "$out"
awk '
  $1 == "keyway" && $2 == "keyring" { k = $3 + 0 }
  $1 == "git-credential-libsecret" { l = $2 + 0 }
  $1 == "keyway" && $2 == "encrypted" { e = $3 + 0 }
  $1 == "git-credential-store" { s = $2 + 0 }
  END {
    printf "fill: keyway keyring / libsecret: %.2fx (target <= 1.3x)\n", k / l
    printf "fill: keyway encrypted / git-credential-store (plaintext file): %.2fx\n", e / s }' <<<"$out"

echo "docker-credential get; runs per command: $runs"
out="$("$KEYWAY_BENCH_INTERLEAVE" "$runs" 5 \
  -- "docker-credential-keyway" sh -c "KEYWAY_BACKEND=keyring exec '$work/bin/docker-credential-keyway' get < '$work/docker-request'" \
  -- "docker-credential-secretservice" sh -c "exec docker-credential-secretservice get < '$work/docker-request'")"
echo "$out"
