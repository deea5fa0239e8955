#!/usr/bin/env python3
"""Generates the leak-check benchmark corpus (deterministic, seeded).

  leakcheck_corpus.py tree DIR MEGABYTES PLANTED.json   source-like files with keys planted at known places
  leakcheck_corpus.py history COMMITS PLANTED.json      a git fast-import stream on stdout: COMMITS commits, keys
                                                        added then removed in some of them (history only)

Decoys that must NOT be reported are mixed in: placeholders (rfx_xxxxxxxx, rfx_...), documentation examples
(AKIAIOSFODNN7EXAMPLE, flux_dev_abc123def456...), and identifiers that share a prefix (rp_handler, sk_live_mode)."""
import json, os, random, string, sys, zlib

rng = random.Random(20260601)
ALNUM = string.ascii_letters + string.digits
UPPER = string.ascii_uppercase + string.digits
B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase

def rand(alphabet, n):
    return "".join(rng.choice(alphabet) for _ in range(n))

def make_key(kind):
    if kind == "github":
        # GitHub's format: 30 random characters and their CRC32 in 6 base62 digits (the same random draws as
        # before, so the rest of the corpus is unchanged).
        body = rand(ALNUM, 36)[:30]
        crc, tail = zlib.crc32(body.encode()), ""
        while crc: crc, tail = crc // 62, B62[crc % 62] + tail
        return "ghp_" + body + tail.rjust(6, "0")
    if kind == "aws": return rng.choice(["AKIA", "ASIA"]) + rand(UPPER, 16)
    if kind == "slack": return "xoxb-" + rand(string.digits, 11) + "-" + rand(string.digits, 12) + "-" + rand(ALNUM, 24)
    if kind == "stripe": return "sk_live_" + rand(ALNUM, 32)
    if kind == "reflex": return "rfx_" + rand(ALNUM, 32)
    if kind == "reactor": return "rp_" + rand(ALNUM, 32)
    if kind == "reminix": return rng.choice(["reminix_sk_", "reminix_ct_", "reminix_pat_"]) + rand(ALNUM, 32)
    if kind == "fluxloop": return rng.choice(["flux_dev_", "flux_prod_"]) + rand(ALNUM, 32)
    raise ValueError(kind)

KINDS = ["github", "aws", "slack", "stripe", "reflex", "reactor", "reminix", "fluxloop"]
WORDS = ("request response handler config value index buffer stream client server token_count parse render "
         "update delete create select filter reduce result error status payload header timeout retry cache").split()
DECOYS = [
    'export REFLEX_API_KEY=rfx_xxxxxxxx', 'REFLEX_API_KEY="rfx_..."', '"api_key": "rp_..."',
    'aws_access_key_id = AKIAIOSFODNN7EXAMPLE', 'fluxloop auth login --api-key flux_dev_abc123def456ghi789jkl012mno34',
    'def rp_handler_for_requests(request):', 'stripe.mode = sk_live_mode_enabled', 'api_key = "your_key_here"',
    'REMINIX_API_KEY=reminix_sk_...', 'token = "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"',
]

def code_line():
    r = rng.random()
    a, b, c = rng.choice(WORDS), rng.choice(WORDS), rng.choice(WORDS)
    if r < 0.3: return f"    {a}_{b} = {c}({rng.randint(0, 9999)}, \"{b}-{rand(string.ascii_lowercase, 6)}\")"
    if r < 0.5: return f"    if {a}.{b} is not None and len({c}) > {rng.randint(1, 64)}:"
    if r < 0.65: return f"        return {a}_{b}.{c}(self.{b}, key={a!r})"
    if r < 0.8: return f"    # {a} {b} {c}: see the {rand(string.ascii_lowercase, 8)} section for details"
    if r < 0.9: return f"def {a}_{b}_{c}(self, {b}, {c}=None):"
    return f"    logger.debug(\"{a} %s took %d ms\", {b}, {rng.randint(1, 500)})"

def planted_line(key):
    return rng.choice([f'API_KEY = "{key}"', f"export TOKEN={key}", f"    'secret': '{key}',", f"auth: {key}"])

def tree(directory, megabytes, planted_path):
    target = megabytes * 1024 * 1024
    total, index, planted = 0, 0, []
    while total < target:
        sub = os.path.join(directory, f"pkg{index // 200:03d}")
        os.makedirs(sub, exist_ok=True)
        path = os.path.join(sub, f"module_{index:05d}.py")
        lines = [code_line() for _ in range(rng.randint(300, 700))]
        if index % 97 == 0:
            kind = KINDS[len(planted) % len(KINDS)]
            key = make_key(kind)
            line = rng.randint(0, len(lines))
            lines.insert(line, planted_line(key))
            planted.append({"kind": kind, "key": key, "path": path, "line": line + 1})
        if index % 13 == 0:
            lines.insert(rng.randint(0, len(lines)), rng.choice(DECOYS))
        text = "\n".join(lines) + "\n"
        with open(path, "w") as f:
            f.write(text)
        total += len(text)
        index += 1
    json.dump(planted, open(planted_path, "w"), indent=1)
    print(f"{index} files, {total / 1e6:.1f} MB, {len(planted)} keys planted", file=sys.stderr)

def history(commits, planted_path):
    out = sys.stdout.buffer
    planted, mark = [], 0
    files = {}
    def blob(text):
        nonlocal mark
        mark += 1
        data = text.encode()
        out.write(b"blob\nmark :%d\ndata %d\n" % (mark, len(data)) + data + b"\n")
        return mark
    for n in range(commits):
        changes = []
        for _ in range(rng.randint(1, 3)):
            name = f"src/file_{rng.randint(0, 399):03d}.py"
            lines = [code_line() for _ in range(rng.randint(20, 60))]
            if rng.random() < 0.05:
                lines.insert(rng.randint(0, len(lines)), rng.choice(DECOYS))
            changes.append(("M", name, blob("\n".join(lines) + "\n")))
        if n % 100 == 50:
            # A key committed here and removed 10 commits later: in history only.
            kind = KINDS[len(planted) % len(KINDS)]
            key = make_key(kind)
            name = f"config/leak_{n:05d}.py"
            changes.append(("M", name, blob(f"# settings\n{planted_line(key)}\n")))
            planted.append({"kind": kind, "key": key, "path": name, "commit_index": n})
            files[n + 10] = name
        if n in files:
            changes.append(("D", files.pop(n), None))
        ts = 1700000000 + n * 60
        msg = f"commit {n}\n".encode()
        out.write(b"commit refs/heads/main\nmark :%d\n" % (mark + 1))
        mark += 1
        out.write(b"author Bench <bench@example.invalid> %d +0000\ncommitter Bench <bench@example.invalid> %d +0000\n" % (ts, ts))
        out.write(b"data %d\n" % len(msg) + msg)
        for op, name, m in changes:
            if op == "M": out.write(b"M 100644 :%d %s\n" % (m, name.encode()))
            else: out.write(b"D %s\n" % name.encode())
        out.write(b"\n")
    json.dump(planted, open(planted_path, "w"), indent=1)
    print(f"{commits} commits, {len(planted)} keys planted in history", file=sys.stderr)

if __name__ == "__main__":
    if sys.argv[1] == "tree": tree(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else: history(int(sys.argv[2]), sys.argv[3])
