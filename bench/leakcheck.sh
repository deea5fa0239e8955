#!/usr/bin/env bash
# Leak-check benchmark: a generated corpus (>= 100 MB of source-like text, a repository with >= 5,000 commits, keys
# planted at known places, decoys that must not fire). Reports, in one run, wall time, throughput and found/planted
# (and false positives) for keyway leak-check (release build), detect-secrets (PyPI, throwaway venv), git-secrets
# (Debian) and grep -rE over the same prefixes (the floor); then the coverage run: a corpus generated from format
# facts (bench/leakcheck_formats.py: every provider format, decoys, history-only keys), scored per tool (keyway,
# trufflehog3 and trufflehog 2 from PyPI, detect-secrets, git-secrets) by recall per provider family, precision,
# false positives and time (bench/leakcheck_score.py); then the --staged pre-commit time. Every tool starts from
# the same warm page cache and, but for detect-secrets (minutes per run), is timed as the best of 3 runs.
# Usage: bench/leakcheck.sh [MEGABYTES] [COMMITS]   (defaults 100 and 5000); work files in $BENCH_DIR (default /tmp).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
megabytes="${1:-100}"
commits="${2:-5000}"
work="${BENCH_DIR:-/tmp}/keyway-leakcheck-bench"
scripts/install-deps
command -v git-secrets >/dev/null || {
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends git-secrets >/dev/null
}
keyway="$(bench_build_release)"
venv_python="$(bench_venv "$work/venv" detect-secrets)"
detect_secrets="$(dirname "$venv_python")/detect-secrets"
# The peers of the coverage run, each in a throwaway venv of its own (PyPI): trufflehog3 and trufflehog 2.
trufflehog3="$(dirname "$(bench_venv "$work/venv-trufflehog3" trufflehog3)")/trufflehog3"
trufflehog2="$(dirname "$(bench_venv "$work/venv-trufflehog2" truffleHog)")/trufflehog"
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 HOME="$work/home" KEYWAY_CONFIG_DIR="$work/config"
mkdir -p "$work/home" "$work/config"

if [ ! -f "$work/tree.json" ]; then
  rm -rf "$work/tree" && mkdir -p "$work/tree"
  python3 bench/leakcheck_corpus.py tree "$work/tree" "$megabytes" "$work/tree.json"
fi
if [ ! -f "$work/history.json" ]; then
  rm -rf "$work/history" && git init -q -b main "$work/history"
  python3 bench/leakcheck_corpus.py history "$commits" "$work/history.json" | git -C "$work/history" fast-import --quiet
  git -C "$work/history" checkout -q main
fi
bytes=$(du -sb "$work/tree" | cut -f1)
pattern='(ghp_[A-Za-z0-9]{36}|(AKIA|ASIA)[A-Z0-9]{16}|xox[baprs]-[A-Za-z0-9-]{10,}|[sr]k_live_[A-Za-z0-9]{20,}|rfx_[A-Za-z0-9]{16,}|rp_[A-Za-z0-9]{16,}|reminix_(sk|ct|pat)_[A-Za-z0-9]{16,}|flux_(dev|prod)_[A-Za-z0-9]{16,})'

# seconds CMD...: wall time of one run, output to $out.
seconds() { local s e; s=$(date +%s%N); "$@" >"$out" 2>"$out.err" || true; e=$(date +%s%N); echo "scale=3; ($e - $s) / 1000000000" | bc; }
# best RUNS CMD...: the fastest of RUNS runs (a warm page cache for every tool alike), output of the last run in $out.
best() {
  local runs="$1" t fastest=""; shift
  for _ in $(seq 1 "$runs"); do
    t=$(seconds "$@")
    if [ -z "$fastest" ] || [ "$(echo "$t < $fastest" | bc)" = 1 ]; then fastest=$t; fi
  done
  echo "$fastest"
}
# Every tool reads the same files: start them all from a warm page cache.
find "$work/tree" "$work/history/.git" -type f -print0 | xargs -0 cat >/dev/null
# score PLANTED.json FOUND.txt: "found/planted fp" where FOUND.txt holds one reported secret (or sha1) per line.
score() {
  python3 - "$1" "$2" "${3:-plain}" <<'PY'
import hashlib, json, sys
planted = {p["key"] for p in json.load(open(sys.argv[1]))}
found = {l.strip() for l in open(sys.argv[2]) if l.strip()}
if sys.argv[3] == "sha1":
    by_hash = {hashlib.sha1(k.encode()).hexdigest(): k for k in planted}
    hits = {by_hash[h] for h in found if h in by_hash}; fp = len(found - set(by_hash))
else:
    hits = planted & found; fp = len(found - planted)
print(f"{len(hits)}/{len(planted)} {fp}")
PY
}
row() { printf '%-44s %9s s %10s MB/s   found %-9s false positives %s\n' "$1" "$2" "$(echo "scale=1; $bytes / 1000000 / $2" | bc)" "$3" "$4"; }
out="$work/out"

echo "Working tree: $(find "$work/tree" -type f | wc -l) files, $((bytes / 1000000)) MB, $(python3 -c "import json;print(len(json.load(open('$work/tree.json'))))") keys planted"
t=$(best 3 "$keyway" leak-check "$work/tree" --no-home --format json --show-secrets)
python3 -c "import json,sys; [print(f['secret']) for f in json.load(open(sys.argv[1]))['findings'] if f['kind']=='secret']" "$out" >"$out.found"
read -r f fp < <(score "$work/tree.json" "$out.found"); row "keyway leak-check" "$t" "$f" "$fp"; t_keyway=$t
t=$(best 3 grep -rhoE "$pattern" "$work/tree")
sort -u "$out" >"$out.found"; read -r f fp < <(score "$work/tree.json" "$out.found"); row "grep -rhoE (prefixes only, the floor)" "$t" "$f" "$fp"; t_grep=$t
# git-secrets knows AWS patterns once registered; the same prefixes are added for a fair count (before timing).
rm -f "$work/gitsecrets.cfg"
GIT_CONFIG_GLOBAL="$work/gitsecrets.cfg" git secrets --register-aws --global >/dev/null
GIT_CONFIG_GLOBAL="$work/gitsecrets.cfg" git secrets --add --global "$pattern"
t=$(best 3 bash -c "cd '$work/tree' && GIT_CONFIG_GLOBAL='$work/gitsecrets.cfg' git secrets --scan -r .")
grep -ohE "$pattern" "$out.err" "$out" | sort -u >"$out.found" || true
read -r f fp < <(score "$work/tree.json" "$out.found"); row "git secrets --scan -r" "$t" "$f" "$fp"
t=$(seconds bash -c "cd '$work/tree' && '$detect_secrets' scan --all-files .")
python3 -c "import json,sys; [print(s['hashed_secret']) for v in json.load(open(sys.argv[1]))['results'].values() for s in v]" "$out" | sort -u >"$out.found"
read -r f fp < <(score "$work/tree.json" "$out.found" sha1); row "detect-secrets scan --all-files" "$t" "$f" "$fp (distinct hashes)"; t_ds=$t
echo "keyway vs detect-secrets: $(echo "scale=1; $t_ds / $t_keyway" | bc)x faster; keyway / grep time: $(echo "scale=2; $t_keyway / $t_grep" | bc)"

echo
echo "History: $(git -C "$work/history" rev-list --all | wc -l) commits, $(python3 -c "import json;print(len(json.load(open('$work/history.json'))))") keys planted only in history"
bytes=$(git -C "$work/history" cat-file --batch-all-objects --batch-check='%(objecttype) %(objectsize)' | awk '$1=="blob"{s+=$2} END{print s}')
t=$(best 3 "$keyway" leak-check "$work/history" --history --no-home --format json --show-secrets)
python3 -c "import json,sys; [print(f['secret']) for f in json.load(open(sys.argv[1]))['findings'] if f['kind']=='secret']" "$out" >"$out.found"
read -r f fp < <(score "$work/history.json" "$out.found"); row "keyway leak-check --history" "$t" "$f" "$fp"; t_keyway=$t
t=$(best 3 bash -c "git -C '$work/history' log --all -p --no-ext-diff --no-textconv | grep -oE '$pattern'")
sort -u "$out" >"$out.found"; read -r f fp < <(score "$work/history.json" "$out.found"); row "git log --all -p | grep -oE (floor)" "$t" "$f" "$fp"
t=$(best 3 bash -c "cd '$work/history' && GIT_CONFIG_GLOBAL='$work/gitsecrets.cfg' git secrets --scan-history")
grep -ohE "$pattern" "$out.err" "$out" | sort -u >"$out.found" || true
read -r f fp < <(score "$work/history.json" "$out.found"); row "git secrets --scan-history" "$t" "$f" "$fp"; t_gs=$t
echo "keyway --history vs git secrets --scan-history: $(echo "scale=1; $t_gs / $t_keyway" | bc)x faster (throughput over $((bytes / 1000000)) MB of blobs)"
echo "detect-secrets: no history scan (not run)."

echo
echo "Coverage: every provider format of bench/leakcheck_formats.py, its decoys, and keys only history holds"
cov="$work/coverage"
if [ ! -f "$cov.json" ]; then
  rm -rf "$cov" && python3 bench/leakcheck_formats.py corpus "$cov" "$cov.json"
fi
# Each tool's reported items, one a line, in $cov.TOOL.txt; its time in seconds (working tree + history) after it.
t=$(seconds "$keyway" leak-check "$cov/tree" "$cov/repo" --history --no-home --format json --show-secrets)
python3 -c "import json,sys; [print(f['secret']) for f in json.load(open(sys.argv[1]))['findings'] if f['kind']=='secret']" "$out" >"$cov.keyway.txt"
scores=("keyway=$cov.keyway.txt:$t")
t1=$(seconds "$trufflehog3" --no-history --format json --output "$cov.th3a.json" "$cov/tree")
t2=$(seconds "$trufflehog3" --format json --output "$cov.th3b.json" "$cov/repo")
python3 -c "
import json,sys
for p in sys.argv[1:]:
    for i in json.load(open(p)): print(i.get('secret') or i.get('context', {}).get(str(i.get('line')), ''))" "$cov.th3a.json" "$cov.th3b.json" >"$cov.th3.txt"
scores+=("trufflehog3=$cov.th3.txt:$(echo "$t1 + $t2" | bc)")
t1=$(seconds "$trufflehog2" --json --regex --entropy=True "file://$cov/tree"); cp "$out" "$cov.th2a.json"
t2=$(seconds "$trufflehog2" --json --regex --entropy=True "file://$cov/repo"); cp "$out" "$cov.th2b.json"
python3 -c "
import json,sys
for p in sys.argv[1:]:
    for l in open(p):
        l = l.strip()
        if l.startswith('{'): [print(s) for s in json.loads(l).get('stringsFound', [])]" "$cov.th2a.json" "$cov.th2b.json" >"$cov.th2.txt"
scores+=("trufflehog2=$cov.th2.txt:$(echo "$t1 + $t2" | bc)")
t=$(seconds bash -c "cd '$cov/tree' && '$detect_secrets' scan --all-files .")
python3 -c "import json,sys; [print(s['hashed_secret']) for v in json.load(open(sys.argv[1]))['results'].values() for s in v]" "$out" >"$cov.ds.sha1"
scores+=("detect-secrets=$cov.ds.sha1:$t")
# git-secrets with its own AWS patterns (what a team gets from --register-aws); it prints the matching lines.
rm -f "$work/gitsecrets-aws.cfg"; GIT_CONFIG_GLOBAL="$work/gitsecrets-aws.cfg" git secrets --register-aws --global >/dev/null
t1=$(seconds bash -c "cd '$cov/tree' && GIT_CONFIG_GLOBAL='$work/gitsecrets-aws.cfg' git secrets --scan -r ."); cat "$out" "$out.err" >"$cov.gs.txt"
t2=$(seconds bash -c "cd '$cov/repo' && GIT_CONFIG_GLOBAL='$work/gitsecrets-aws.cfg' git secrets --scan-history"); cat "$out" "$out.err" >>"$cov.gs.txt"
grep -v '^\[ERROR\]\|^$\|Possible mitigations\|^- \|^\s' "$cov.gs.txt" >"$cov.gs.lines.txt" || true
scores+=("git-secrets=$cov.gs.lines.txt:$(echo "$t1 + $t2" | bc)")
python3 bench/leakcheck_score.py "$cov.json" "${scores[@]}"

echo
echo "Speed on the coverage corpus, keyway against trufflehog3 (alternately, wall and CPU time; KEYWAY_OLD=BINARY adds an"
echo "older keyway build beside the new one):"
speed=("keyway=$keyway leak-check '$cov/tree' '$cov/repo' --history --no-home --format json")
if [ -n "${KEYWAY_OLD:-}" ]; then
  speed+=("keyway-old=$KEYWAY_OLD leak-check '$cov/tree' '$cov/repo' --history --no-home --format json")
fi
# trufflehog3 exits 2 when it finds something.
speed+=("trufflehog3=$trufflehog3 --no-history --format json '$cov/tree'; a=\$?; $trufflehog3 --format json '$cov/repo'; b=\$?; [ \$a -le 2 ] && [ \$b -le 2 ]")
uptime
python3 bench/leakcheck_speed.py "${SPEED_ROUNDS:-7}" "${speed[@]}"

echo
echo "Pre-commit (--staged) on the $commits-commit repository with one small staged change:"
printf 'def handler():\n    return 1\n' >"$work/history/src/staged_change.py"
git -C "$work/history" add src/staged_change.py
for _ in 1 2 3; do (cd "$work/history" && "$keyway" leak-check --staged >/dev/null); done
runs=$(for _ in $(seq 10); do s=$(date +%s%N); (cd "$work/history" && "$keyway" leak-check --staged >/dev/null); e=$(date +%s%N); echo $(( (e - s) / 1000000 )); done | sort -n)
echo "keyway leak-check --staged: median $(echo "$runs" | sed -n 5p) ms, max $(echo "$runs" | tail -1) ms (10 runs)"
git -C "$work/history" reset -q src/staged_change.py && rm -f "$work/history/src/staged_change.py"
