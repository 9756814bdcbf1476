#!/usr/bin/python3
"""bench/timing.py: run commands alternately, N times each, and print the
median wall time of each, the ratio A/B, and the peak RSS of A.

usage: timing.py N LABEL_A 'CMD A' [LABEL_B 'CMD B']
The commands run through /bin/sh; their output is discarded."""
import resource
import statistics
import subprocess
import sys
import time


def run(cmd):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit("bench: command failed (%d): %s\n%s" % (r.returncode, cmd, r.stderr.decode()[-500:]))
    return dt


def main():
    n = int(sys.argv[1])
    pairs = [(sys.argv[i], sys.argv[i + 1]) for i in range(2, len(sys.argv), 2)]
    times = {label: [] for label, _ in pairs}
    for label, cmd in pairs:  # one warm-up each
        run(cmd)
    for _ in range(n):
        for label, cmd in pairs:
            times[label].append(run(cmd))
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    meds = [statistics.median(times[label]) for label, _ in pairs]
    for (label, _), m in zip(pairs, meds):
        lo, hi = min(times[label]), max(times[label])
        print("  %-34s median %8.2f ms  (min %.2f, max %.2f, n=%d)" % (label, m * 1e3, lo * 1e3, hi * 1e3, n))
    if len(meds) == 2:
        print("  ratio %s / %s: %.2fx" % (pairs[0][0], pairs[1][0], meds[0] / meds[1]))
    print("  peak RSS of any child: %.1f MiB" % (rss / 1024.0))


if __name__ == "__main__":
    main()
