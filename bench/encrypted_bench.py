#!/usr/bin/env python3
"""Benchmark helper for bench/encrypted.sh: times `keyway get` on the encrypted backend against the plaintext one, and
Keyway's passphrase unlock against python keyring's keyrings.cryptfile at the same Argon2id cost.

The raw-key vaults are written here, with libsodium through ctypes, straight from the byte layout documented in
SECURITY.md ("Byte layout") and Backends/Encrypted/VaultFormat.swift (so the benchmark also checks that the documented
format is the one Keyway reads)."""
import argparse, base64, ctypes, ctypes.util, json, os, statistics, struct, subprocess, sys, time

MAGIC = b"\x89KWVAULT"


def sodium():
    lib = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
    if lib.sodium_init() < 0:
        raise SystemExit("sodium_init failed")
    return lib


def write_raw_key_vault(lib, path, key, payload):
    """A format-1 vault for a raw key: header (magic, version, method 1, cipher 1, zero KDF fields, key check, nonce,
    ciphertext length), then XChaCha20-Poly1305 of the payload with the whole header as associated data."""
    def subkey(ident):
        out = ctypes.create_string_buffer(32)
        assert lib.crypto_kdf_derive_from_key(out, ctypes.c_size_t(32), ctypes.c_uint64(ident), b"KWVAULT1", key) == 0
        return out.raw
    prefix = MAGIC + struct.pack("<HBBQQ", 1, 1, 1, 0, 0) + bytes(16)
    check = ctypes.create_string_buffer(32)
    check_key = subkey(2)
    assert lib.crypto_generichash(check, ctypes.c_size_t(32), prefix, ctypes.c_ulonglong(len(prefix)), check_key,
                                  ctypes.c_size_t(32)) == 0
    nonce = os.urandom(24)
    header = prefix + check.raw + nonce + struct.pack("<Q", len(payload) + 16)
    out = ctypes.create_string_buffer(len(payload) + 16)
    out_len = ctypes.c_ulonglong(0)
    assert lib.crypto_aead_xchacha20poly1305_ietf_encrypt(
        out, ctypes.byref(out_len), payload, ctypes.c_ulonglong(len(payload)), header, ctypes.c_ulonglong(len(header)),
        None, nonce, subkey(1)) == 0
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
        f.write(header + out.raw[: out_len.value])


def document(count):
    credentials = [{
        "app": "app-%05d" % i, "profile": "default", "api_key": "bench_secret_%05d_0123456789abcdef" % i,
        "account": "user%05d@example.com" % i, "created": "2026-01-01T00:00:00Z", "updated": "2026-01-01T00:00:00Z",
    } for i in range(count)]
    return json.dumps({"format": "keyway-credentials", "version": 1, "credentials": credentials}).encode()


def timed(command, env, runs, expect=None):
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(command, env=env, capture_output=True)
        samples.append(time.perf_counter() - start)
        if result.returncode != 0 or (expect is not None and result.stdout.decode().strip() != expect):
            raise SystemExit("benchmark command failed: %s\n%s%s" % (" ".join(command), result.stdout.decode(),
                                                                      result.stderr.decode()))
    return statistics.median(samples)


CRYPTFILE = r"""
import os, sys, time
from keyrings.cryptfile.cryptfile import CryptFileKeyring
class Ring(CryptFileKeyring):
    time_cost = int(os.environ["BENCH_OPS"])          # Argon2id passes
    memory_cost = int(os.environ["BENCH_MEM_KIB"])    # KiB
    parallelism = 1                                   # libsodium's Argon2id uses one lane
    @property
    def file_path(self):
        return os.environ["BENCH_CRYPTFILE"]
ring = Ring()
start = time.perf_counter()
ring.keyring_key = os.environ["BENCH_PASSPHRASE"]
if sys.argv[1] == "set":
    ring.set_password("bench", "default", os.environ["BENCH_SECRET"])
else:
    value = ring.get_password("bench", "default")
    print(value)
    print("%.6f" % (time.perf_counter() - start), file=sys.stderr)
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--keyway", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--venv-python", required=True)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--unlock-runs", type=int, default=5)
    args = parser.parse_args()
    lib = sodium()
    base_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": args.work, "LANG": "C.UTF-8"}

    key_file = os.path.join(args.work, "vault.key")
    key = os.urandom(32)
    with open(os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
        f.write(key)

    rows = {}
    for count in (10, 1000, 10000):
        directory = os.path.join(args.work, "n%d" % count)
        os.makedirs(directory, mode=0o700)
        payload = document(count)
        with open(os.open(os.path.join(directory, "credentials.json"), os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
            f.write(payload)
        write_raw_key_vault(lib, os.path.join(directory, "credentials.vault"), key, payload)
        target = "app-%05d" % (count // 2)
        expect = "bench_secret_%05d_0123456789abcdef" % (count // 2)
        env = dict(base_env, KEYWAY_CONFIG_DIR=directory)
        command = [args.keyway, "get", target]
        rows[count] = (
            timed(command, dict(env, KEYWAY_BACKEND="plaintext"), args.runs, expect),
            timed(command, dict(env, KEYWAY_BACKEND="encrypted", KEYWAY_VAULT_KEY_FILE=key_file), args.runs, expect),
        )

    # Passphrase unlock at libsodium's MODERATE cost (Keyway's default): 3 passes, 256 MiB, one lane.
    ops, mem_kib = 3, 256 * 1024
    passphrase, secret = "bench passphrase for argon2id", "bench_unlock_secret_0123456789"
    directory = os.path.join(args.work, "pass")
    os.makedirs(directory, mode=0o700)
    env = dict(base_env, KEYWAY_CONFIG_DIR=directory, KEYWAY_BACKEND="encrypted", KEYWAY_PASSPHRASE=passphrase)
    for command in (["vault", "init", "--argon2-ops", str(ops), "--argon2-mem-mib", str(mem_kib // 1024)],
                    ["login", "bench", "--api-key", secret]):
        subprocess.run([args.keyway] + command, env=env, check=True, capture_output=True)
    keyway_unlock = timed([args.keyway, "get", "bench"], env, args.unlock_runs, secret)

    cf_env = dict(base_env, BENCH_OPS=str(ops), BENCH_MEM_KIB=str(mem_kib), BENCH_PASSPHRASE=passphrase,
                  BENCH_SECRET=secret, BENCH_CRYPTFILE=os.path.join(directory, "cryptfile.cfg"))
    subprocess.run([args.venv_python, "-c", CRYPTFILE, "set"], env=cf_env, check=True)
    inside, whole = [], []
    for _ in range(args.unlock_runs):
        start = time.perf_counter()
        result = subprocess.run([args.venv_python, "-c", CRYPTFILE, "get"], env=cf_env, capture_output=True, check=True)
        whole.append(time.perf_counter() - start)
        if result.stdout.decode().strip() != secret:
            raise SystemExit("cryptfile returned the wrong secret")
        inside.append(float(result.stderr.decode().strip().splitlines()[-1]))
    cf_inside, cf_whole = statistics.median(inside), statistics.median(whole)

    ms = lambda s: "%8.1f ms" % (s * 1000)
    print("keyway get, median of %d runs (release build, whole process)" % args.runs)
    print("  entries   plaintext    encrypted   encrypted/plaintext")
    for count, (plain, enc) in rows.items():
        print("  %7d  %s  %s   %6.2fx" % (count, ms(plain), ms(enc), enc / plain))
    r1000 = rows[1000][1] / rows[1000][0]
    r10k = rows[10000][1] / rows[10][1]
    print("  encrypted 10,000 / encrypted 10: %.2fx" % r10k)
    print()
    print("passphrase unlock, Argon2id opslimit %d, memlimit %d MiB, 1 lane, median of %d runs" % (ops, mem_kib // 1024,
                                                                                             args.unlock_runs))
    print("  keyway get (whole process)                     %s" % ms(keyway_unlock))
    print("  keyrings.cryptfile get_password (in-process)   %s   (it runs Argon2id twice: key check + entry)" % ms(cf_inside))
    print("  keyrings.cryptfile get_password (whole python) %s" % ms(cf_whole))
    print("  keyway / cryptfile in-process: %.2fx" % (keyway_unlock / cf_inside))
    print()
    verdict = lambda ok: "met" if ok else "NOT MET"
    print("targets: 1,000-entry raw-key get <= 2x plaintext: %.2fx %s; 10,000 <= 5x 10-entry: %.2fx %s; "
          "unlock no slower than cryptfile: %.2fx %s" % (r1000, verdict(r1000 <= 2), r10k, verdict(r10k <= 5),
                                                      keyway_unlock / cf_inside, verdict(keyway_unlock <= cf_inside)))


if __name__ == "__main__":
    main()
