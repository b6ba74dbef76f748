#!/usr/bin/env python3
"""Ingest benchmark: treeline ingest (native and libevtx readers) vs evtxexport -f xml on the
same large EVTX, in the same run.

Builds a large EVTX from real chunks (tools/make_big_evtx.py), then times each tool and reads
its peak memory (ru_maxrss of the child). The machine is noisy: compare the ratios.

usage: bench/ingest_bench.py [--records N] [--treeline BUILD/src/cli/treeline] [--repeat K]
"""
import argparse
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run(cmd, stdout=subprocess.DEVNULL):
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - start
    code = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss / 1024.0, code


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=300_000)
    ap.add_argument("--source", default=os.path.join(ROOT, "..", "shared", "data", "evtx-rs", "security.evtx"))
    ap.add_argument("--treeline", default=os.path.join(ROOT, "build", "src", "cli", "treeline"))
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--bulk", action="store_true",
                    help="use treeline-gen --bulk (a busy server's realistic event mix) instead of repeated real chunks")
    ap.add_argument("--gen", default=os.path.join(ROOT, "build", "tools", "gen", "treeline-gen"))
    args = ap.parse_args()
    if not os.path.exists(args.source):
        sys.exit(f"source log not found: {args.source} (clone treeline beside shared/)")
    os.makedirs(args.out, exist_ok=True)
    big = os.path.join(args.out, f"{'bulk' if args.bulk else 'big'}-{args.records}.evtx")
    if not os.path.exists(big):
        if args.bulk:
            subprocess.check_call([args.gen, "--bulk", "--events", str(args.records), "-o", big])
        else:
            subprocess.check_call([sys.executable, os.path.join(ROOT, "tools", "make_big_evtx.py"), args.source, big,
                                   "--records", str(args.records)])
    size_mb = os.path.getsize(big) / 1e6
    # Warm the page cache so the first tool is not charged for the disk.
    with open(big, "rb") as f:
        while f.read(1 << 24):
            pass

    results = {}
    for _ in range(args.repeat):
        case = os.path.join(args.out, "bench-case.db")
        if os.path.exists(case):
            os.remove(case)
        # Ingest alone (--no-graph), then as an analyst runs it (with the process-graph rebuild).
        # auto is the default: native, plus libevtx's recovery where free space holds old records.
        for reader, threads, graph in (("native", 2, False), ("auto", 2, False), ("native", 1, False),
                                       ("libevtx", 1, False), ("native", 2, True), ("libevtx", 1, True)):
            if os.path.exists(case):
                os.remove(case)
            cmd = [args.treeline, "ingest", "-q", "--reader", reader, "--threads", str(threads)]
            if not graph:
                cmd.append("--no-graph")
            t, rss, code = run(cmd + [case, big])
            if code not in (0, 3):
                sys.exit(f"treeline ingest --reader {reader} failed with exit code {code}")
            label = f"{reader} -t{threads}" + (" +graph" if graph else "")
            results.setdefault(label, []).append((t, rss))
        t, rss, code = run(["evtxexport", "-f", "xml", big])
        results.setdefault("evtxexport -f xml", []).append((t, rss))

    print(f"file: {big} ({args.records} records, {size_mb:.0f} MB)")
    print(f"{'tool':32} {'seconds':>8} {'records/s':>10} {'MB/s':>7} {'peak MB':>8}")
    best = {}
    for name, runs in results.items():
        t, rss = min(runs)
        best[name] = t
        print(f"{name:32} {t:8.2f} {args.records / t:10.0f} {size_mb / t:7.1f} {max(r for _, r in runs):8.1f}")
    base = best["evtxexport -f xml"]
    for name, t in best.items():
        lib = best["libevtx -t1 +graph" if name.endswith("+graph") else "libevtx -t1"] if name != "evtxexport -f xml" else t
        print(f"{name:32} {base / t:6.2f}x evtxexport  {lib / t:6.2f}x the libevtx path (same graph setting)")


if __name__ == "__main__":
    main()
