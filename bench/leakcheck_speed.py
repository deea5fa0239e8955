#!/usr/bin/env python3
"""Times commands run alternately (round i starts with command i mod N, so a machine whose speed drifts affects every
command alike) and prints, per command, the median and best wall time and the median CPU time (user + system of the
command and its children: what a loaded machine disturbs least). Output goes to /dev/null; a command that exits with a
status other than those allowed stops the run. No command is given a nice value.

    leakcheck_speed.py ROUNDS NAME=COMMAND [NAME=COMMAND ...]

COMMAND is run by /bin/sh -c. bench/leakcheck.sh's speed part uses it: keyway leak-check (an older build beside the
new one, when given) against trufflehog3 on the same corpora."""
import os
import resource
import statistics
import subprocess
import sys
import time


def run(command):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    status = subprocess.run(["/bin/sh", "-c", command], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # leak-check exits 1 when it finds keys, trufflehog3 too.
    if status not in (0, 1):
        sys.exit(f"{command!r} exited with {status}")
    return wall, cpu


def main():
    rounds = int(sys.argv[1])
    commands = [arg.split("=", 1) for arg in sys.argv[2:]]
    times = {name: [] for name, _ in commands}
    load_before = open("/proc/loadavg").read().split()[:3]
    for name, command in commands:  # warm-up: page cache, venvs
        run(command)
    for i in range(rounds):
        for k in range(len(commands)):
            name, command = commands[(i + k) % len(commands)]
            times[name].append(run(command))
    load_after = open("/proc/loadavg").read().split()[:3]
    print(f"load average before {' '.join(load_before)}, after {' '.join(load_after)}; {os.cpu_count()} CPUs; {rounds} rounds")
    first = None
    print(f"{'command':<28} {'wall median':>12} {'wall best':>10} {'CPU median':>11}   CPU ratio")
    for name, _ in commands:
        walls = [w for w, _ in times[name]]
        cpus = [c for _, c in times[name]]
        cpu = statistics.median(cpus)
        first = first or cpu
        print(f"{name:<28} {statistics.median(walls):>11.3f}s {min(walls):>9.3f}s {cpu:>10.3f}s   {cpu / first:>6.2f}x")


if __name__ == "__main__":
    main()
