#!/usr/bin/env bash
# The YAML reader (libyaml, Sources/KeywayCore/Formats/YAML.swift) on a FluxLoop credentials file of 80,000 profiles (issue
# 10, item 17: the old reader's duplicate-key check was quadratic, 12 s), against one of 2 profiles; and a check that
# `keyway get` of an app without a YAML source calls no libyaml function (the binary is lazily bound, so
# LD_DEBUG=bindings lists each libyaml function the binary calls the first time it calls it).
#   PROFILES=80000 RUNS=20 bench/yaml.sh
source "$(dirname "$0")/lib.sh"
bench_setup
keyway="$(bench_build_release)"
work="$(mktemp -d /tmp/keyway-bench-XXXXXX)"
trap 'rm -rf "$work"' EXIT
profiles="${PROFILES:-80000}"
export HOME="$work/home" KEYWAY_CONFIG_DIR="$work/keyway" KEYWAY_BACKEND=plaintext
unset FLUXLOOP_API_KEY REFLEX_API_KEY
mkdir -p "$HOME/.fluxloop" "$work/small/.fluxloop"
python3 - "$profiles" "$HOME/.fluxloop/credentials" "$work/small/.fluxloop/credentials" <<'PY'
import sys
count, big, small = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def write(path, n):
    with open(path, "w") as f:
        f.write("profiles:\n")
        for i in range(n):
            f.write(f"  p{i}:\n    api_key: flux_dev_{i:032d}\n    account: user{i}@example.com\n"
                    f"    expires: '2030-01-01'\n")
write(big, count)
write(small, 2)
PY
chmod 600 "$HOME/.fluxloop/credentials" "$work/small/.fluxloop/credentials"
last="p$((profiles - 1))"
[ "$("$keyway" get fluxloop --profile "$last")" = "flux_dev_$(printf '%032d' $((profiles - 1)))" ] \
  || { echo "keyway get returned the wrong key" >&2; exit 1; }
"$keyway" login reflex --api-key "rfx_bench0000000000000000" >/dev/null

calls="$(LD_DEBUG=bindings "$keyway" get reflex 2>&1 >/dev/null | grep -c "binding file $keyway .*libyaml" || true)"
echo "keyway $("$keyway" --version), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "file: $profiles profiles, $(wc -c <"$HOME/.fluxloop/credentials") bytes; libyaml calls by 'get reflex': $calls"
[ "$calls" = 0 ] || { echo "keyway get reflex called libyaml" >&2; exit 1; }
bench_compare "${RUNS:-20}" \
  "get fluxloop (2 profiles)" "env HOME=$work/small $keyway get fluxloop --profile p1" \
  "get fluxloop ($profiles profiles)" "$keyway get fluxloop --profile $last" \
  "get reflex (no YAML)" "$keyway get reflex"
# CPU time (user + system) of the large case, which a loaded machine does not inflate the way it does wall time.
TIMEFORMAT='%U %S'
for i in 1 2 3 4 5; do { time "$keyway" get fluxloop --profile "$last" >/dev/null; } 2>&1; done \
  | awk '{ t = $1 + $2; s += t; if (min == "" || t < min) min = t } END { printf "get fluxloop (%s profiles), CPU time: mean %.3f s, min %.3f s over %d runs\n", "'"$profiles"'", s / NR, min, NR }'
