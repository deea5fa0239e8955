#!/usr/bin/env python3
"""Scores the coverage run of bench/leakcheck.sh: recall by provider family, precision, false positives and time.

  leakcheck_score.py PLANTED.json TOOL=FOUND.txt:SECONDS ...

FOUND.txt holds what a tool reported, one item a line (a key, the matched text, or the line that holds it); with
the suffix `.sha1` the items are SHA-1 hex digests of the keys (detect-secrets). An item finds a planted key when one
contains the other (a context rule may report only a URL's password); an item that finds none is a false
positive."""
import hashlib, json, sys

planted = json.load(open(sys.argv[1]))
tools = []
for arg in sys.argv[2:]:
    name, rest = arg.split("=", 1)
    path, seconds = rest.rsplit(":", 1)
    items = {l.rstrip("\n") for l in open(path, errors="replace") if l.strip()}
    hashed = path.endswith(".sha1")
    found, fp = set(), 0
    for item in items:
        hits = [i for i, p in enumerate(planted)
                if (hashed and hashlib.sha1(p["key"].encode()).hexdigest() == item)
                or (not hashed and (p["key"] in item or (len(item) >= 8 and item in p["key"])))]
        if hits: found.update(hits)
        else: fp += 1
    tp = len(items) - fp
    tools.append((name, found, fp, tp, float(seconds)))

families = sorted({p["family"] for p in planted})
print(f"{'family':<18}{'keys':>5}" + "".join(f"{t[0]:>16}" for t in tools))
for fam in families:
    idx = [i for i, p in enumerate(planted) if p["family"] == fam]
    print(f"{fam:<18}{len(idx):>5}" + "".join(f"{sum(1 for i in idx if i in t[1]):>16}" for t in tools))
print()
print(f"{'tool':<14}{'recall':>16}{'tree':>10}{'history':>10}{'precision':>11}{'false pos.':>11}{'time':>9}")
for name, found, fp, tp, seconds in tools:
    tree = [i for i, p in enumerate(planted) if p["where"] == "tree"]
    hist = [i for i, p in enumerate(planted) if p["where"] == "history"]
    precision = 100.0 * tp / (tp + fp) if tp + fp else 0.0
    print(f"{name:<14}{len(found):>6}/{len(planted)} {100.0 * len(found) / len(planted):5.1f}%"
          f"{sum(1 for i in tree if i in found):>6}/{len(tree)}{sum(1 for i in hist if i in found):>6}/{len(hist)}"
          f"{precision:>10.1f}%{fp:>11}{seconds:>8.2f}s")
