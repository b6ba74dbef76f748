#!/usr/bin/env python3
"""Times two shell commands in turn (A B A B ...), so that a drift in the machine's speed touches
both alike, and prints each one's wall seconds and the A/B ratio per pair: min, median, max.
   usage: python3 bench/paired.py -n 5 --a 'COMMAND A' --b 'COMMAND B'"""
import argparse
import statistics
import subprocess
import time


def run(cmd):
    start = time.monotonic()
    subprocess.run(cmd, shell=True, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - start


def main():
    p = argparse.ArgumentParser()
    p.add_argument("-n", type=int, default=5, help="pairs (one warm-up pair is not counted)")
    p.add_argument("--a", required=True)
    p.add_argument("--b", required=True)
    args = p.parse_args()
    run(args.a)
    run(args.b)
    a, b = [], []
    for _ in range(args.n):
        a.append(run(args.a))
        b.append(run(args.b))
    ratios = [x / y for x, y in zip(a, b)]
    def row(name, v):
        print(f"{name:<10} {min(v):8.3f} {statistics.median(v):8.3f} {max(v):8.3f}")
    print(f"{'':<10} {'min':>8} {'median':>8} {'max':>8}")
    row("A wall s", a)
    row("B wall s", b)
    row("A/B wall", ratios)


if __name__ == "__main__":
    main()
