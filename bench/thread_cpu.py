#!/usr/bin/env python3
"""CPU seconds of each thread of a command, read from /proc every 20 ms, with its wall time.
Tells the single database writer (the main thread) from the decoding pool (treeline-decode).
   usage: python3 bench/thread_cpu.py build/src/cli/treeline ingest -q --no-graph CASE.db LOG.evtx"""
import os
import subprocess
import sys
import time

start = time.time()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
hz = os.sysconf("SC_CLK_TCK")
seen = {}  # tid -> (name, cpu seconds at the last reading)
while proc.poll() is None:
    try:
        tids = os.listdir(f"/proc/{proc.pid}/task")
    except OSError:
        break
    for tid in tids:
        try:
            with open(f"/proc/{proc.pid}/task/{tid}/stat") as f:
                head, rest = f.read().rsplit(")", 1)
            fields = rest.split()
            seen[tid] = (head.split("(", 1)[1], (int(fields[11]) + int(fields[12])) / hz)
        except OSError:
            pass  # the thread ended between the listing and the read
    time.sleep(0.02)
print(f"wall {time.time() - start:.2f} s, exit {proc.returncode}")
for name, cpu in sorted(seen.values(), key=lambda v: -v[1]):
    print(f"  {name:<16} {cpu:7.2f} s cpu")
