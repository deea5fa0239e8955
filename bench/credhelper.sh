#!/usr/bin/env bash
# Times git's and docker's credential helpers on the same entry, inside a private D-Bus session with gnome-keyring
# (scripts/with-keyring): `git credential fill` through `!keyway git-credential` on the keyring, encrypted and
# plaintext backends against git-credential-libsecret (built from git's contrib sources) and git-credential-store;
# `docker-credential-keyway get` (keyring) against docker-credential-secretservice get. The keyway measured is the
# release binary the README's install command builds (scripts/build-release). Commands run alternately
# (bench/interleave.c); each reads its request from a file through `sh -c 'exec ... < FILE'`, the same shell cost for
# every command. Headless, against the gpg-encrypted helpers (`pass`-style; `pass` is installed with apt-get when
# missing): git's own git-credential-netrc (git's contrib, a perl helper decrypting ~/.netrc.gpg with gpg) and
# docker-credential-pass (docker-credential-helpers, reading `pass`), each with a throwaway GNUPGHOME holding a key
# without a passphrase, against keyway on the encrypted backend. Targets (issue 15): keyway's keyring helper within
# 1.3x of libsecret's C helper; keyway's encrypted helper faster than the gpg ones.
# Usage: bench/credhelper.sh [RUNS]   (default 100)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
if [[ "${KEYWAY_BENCH_INSIDE:-}" != 1 ]]; then
  command -v pass >/dev/null || {
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pass >/dev/null
  }
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
trap 'GNUPGHOME="$work/gnupg" gpgconf --kill gpg-agent 2>/dev/null || true; rm -rf "$work"' EXIT
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

# The gpg helpers: a key without a passphrase in a throwaway GNUPGHOME; `pass` and ~/.netrc.gpg encrypted to it.
export GNUPGHOME="$work/gnupg" PASSWORD_STORE_DIR="$work/pass"
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --pinentry-mode loopback --passphrase '' --quick-gen-key bench@keyway.invalid default default never \
  2>/dev/null
fingerprint="$(gpg --list-keys --with-colons bench@keyway.invalid | awk -F: '$1 == "fpr" { print $10; exit }')"
pass init "$fingerprint" >/dev/null
echo '{"ServerURL":"https://bench.example","Username":"alice","Secret":"bench-docker-0123456789"}' |
  docker-credential-pass store
printf 'machine bench.example login alice password bench-password-0123456789 protocol https\n' |
  gpg --batch --quiet --trust-model always -e -r "$fingerprint" -o "$HOME/.netrc.gpg"
netrc="!perl /usr/share/doc/git/contrib/credential/netrc/git-credential-netrc.perl -f $HOME/.netrc.gpg"
echo '{"ServerURL":"https://bench.example","Username":"alice","Secret":"bench-docker-0123456789"}' |
  KEYWAY_BACKEND=encrypted KEYWAY_VAULT_KEY=$vault_key "$work/bin/docker-credential-keyway" store

fill() { echo "exec git -c 'credential.helper=$1' credential fill < '$work/request'"; }
check() {
  local out; out="$(sh -c "$1")"
  [[ "$out" == *"password=bench-password-0123456789"* ]] || { echo "no password from: $1" >&2; exit 1; }
}
for h in "!KEYWAY_BACKEND=keyring $keyway git-credential" "!KEYWAY_BACKEND=plaintext $keyway git-credential" \
  "$KEYWAY_BENCH_LIBSECRET" "store --file $work/git-credentials" "$netrc"; do
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
  -- "git-credential-store" sh -c "$(fill "store --file $work/git-credentials")" \
  -- "git-credential-netrc" sh -c "$(fill "$netrc")")"
echo "$out"
awk '
  $1 == "keyway" && $2 == "keyring" { k = $3 + 0 }
  $1 == "git-credential-libsecret" { l = $2 + 0 }
  $1 == "keyway" && $2 == "encrypted" { e = $3 + 0 }
  $1 == "git-credential-store" { s = $2 + 0 }
  $1 == "git-credential-netrc" { n = $2 + 0 }
  END {
    printf "fill: keyway keyring / libsecret: %.2fx (target <= 1.3x)\n", k / l
    printf "fill: keyway encrypted / git-credential-store (plaintext file): %.2fx\n", e / s
    printf "fill: keyway encrypted is %.2fx faster than git-credential-netrc (gpg; target > 1x)\n", n / e }' <<<"$out"

echo "docker-credential get; runs per command: $runs"
for c in "KEYWAY_BACKEND=keyring '$work/bin/docker-credential-keyway'" \
  "KEYWAY_BACKEND=encrypted '$work/bin/docker-credential-keyway'" docker-credential-pass; do
  [[ "$(sh -c "exec env $c get < '$work/docker-request'")" == *bench-docker-0123456789* ]] ||
    { echo "no secret from: $c" >&2; exit 1; }
done
out="$("$KEYWAY_BENCH_INTERLEAVE" "$runs" 5 \
  -- "docker-credential-keyway keyring" sh -c "KEYWAY_BACKEND=keyring exec '$work/bin/docker-credential-keyway' get < '$work/docker-request'" \
  -- "docker-credential-secretservice" sh -c "exec docker-credential-secretservice get < '$work/docker-request'" \
  -- "docker-credential-keyway encrypted" sh -c "KEYWAY_BACKEND=encrypted exec '$work/bin/docker-credential-keyway' get < '$work/docker-request'" \
  -- "docker-credential-pass" sh -c "exec docker-credential-pass get < '$work/docker-request'")"
echo "$out"
awk '
  $1 == "docker-credential-keyway" && $2 == "keyring" { k = $3 + 0 }
  $1 == "docker-credential-secretservice" { l = $2 + 0 }
  $1 == "docker-credential-keyway" && $2 == "encrypted" { e = $3 + 0 }
  $1 == "docker-credential-pass" { p = $2 + 0 }
  END {
    printf "get: keyway keyring / docker-credential-secretservice: %.2fx (target <= 1.3x)\n", k / l
    printf "get: keyway encrypted is %.2fx faster than docker-credential-pass (gpg; target > 1x)\n", p / e }' <<<"$out"
