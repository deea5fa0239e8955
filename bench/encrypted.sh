#!/usr/bin/env bash
# Encrypted backend benchmark, in one run: `keyway get` with a raw key on vaults of 10, 1,000 and 10,000 credentials
# against the plaintext backend, and passphrase unlock against python keyring + keyrings.cryptfile at the same
# Argon2id cost (libsodium's MODERATE). Builds the installed release binary once (scripts/build-release); installs
# keyring and keyrings.cryptfile into a throwaway virtualenv (needs PyPI). Prints medians and ratios. RUNS /
# UNLOCK_RUNS change the number of runs.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
binary="$(bench_build_release)"
work="$(mktemp -d /tmp/keyway-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check keyring keyrings.cryptfile >&2
python3 bench/encrypted_bench.py --keyway "$binary" --work "$work" --venv-python "$work/venv/bin/python" \
  --runs "${RUNS:-21}" --unlock-runs "${UNLOCK_RUNS:-5}"
