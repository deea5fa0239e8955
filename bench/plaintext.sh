#!/usr/bin/env bash
# `keyway get` on the plaintext backend against python `keyring get` with keyrings.alt's PlaintextKeyring, same key.
# Targets (issue 2): keyway median <= 10 ms, and at least 15x faster than python keyring.
source "$(dirname "$0")/lib.sh"
bench_setup
keyway="$(bench_build_release)"
work="$(mktemp -d /tmp/keyway-bench-XXXXXX)"
trap 'rm -rf "$work"' EXIT
python="$(bench_venv "${BENCH_VENV:-/tmp/keyway-bench-venv}" keyring keyrings.alt)"

export KEYWAY_CONFIG_DIR="$work/keyway" KEYWAY_BACKEND=plaintext
unset BENCH_API_KEY
key="bench_sk_$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s\n' "$key" | "$keyway" login bench >/dev/null
# A realistic file: 50 other apps with two profiles each.
for i in $(seq 1 50); do
  "$keyway" login "app$i" --api-key "k$i-$key" >/dev/null
  "$keyway" login "app$i" --profile prod --api-key "p$i-$key" >/dev/null
done
[ "$("$keyway" get bench)" = "$key" ] || { echo "keyway get returned the wrong key" >&2; exit 1; }

export XDG_DATA_HOME="$work/pydata" PYTHON_KEYRING_BACKEND=keyrings.alt.file.PlaintextKeyring
"$python" -c 'import keyring, sys; keyring.set_password("bench", "default", sys.argv[1])' "$key"
[ "$("$python" -m keyring get bench default)" = "$key" ] || { echo "python keyring returned the wrong key" >&2; exit 1; }

echo "keyway $("$keyway" --version), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
bench_compare "${RUNS:-200}" \
  "keyway get (plaintext)" "$keyway get bench" \
  "python -m keyring get (alt plaintext)" "$python -m keyring get bench default"
