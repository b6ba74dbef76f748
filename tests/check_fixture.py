#!/usr/bin/python3
"""Checks a generated fixture folder with two independent EVTX parsers.

For every .evtx in FOLDER/logs: libevtx (`evtxexport -f xml`) and python-evtx must both read every
record without an error and agree on each record's EventID, EventRecordID, TimeCreated and
EventData/UserData values. Then every logged process in truth.jsonl must be a 4688 in its
host's Security log with the PID, image and time the scenario states.

usage: check_fixture.py FOLDER        exit 0 when all holds; prints what does not
"""
import datetime
import glob
import json
import multiprocessing
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import Evtx.Evtx as evtx

NS = "{http://schemas.microsoft.com/win/2004/08/events/event}"


def norm(v):
    """Numbers as parsers print them differ (0x3e7 vs 0x00000000000003e7): compare values."""
    v = (v or "").strip()
    if re.fullmatch(r"0x[0-9a-fA-F]+", v):
        return int(v, 16)
    if re.fullmatch(r"\{[0-9a-fA-F-]{36}\}", v):
        return v.lower()
    return v


def event_of(root):
    sysn = root.find(NS + "System")
    eid = int(sysn.find(NS + "EventID").text)
    rid = int(sysn.find(NS + "EventRecordID").text)
    tc = sysn.find(NS + "TimeCreated").get("SystemTime")
    # Both print the same instant with different digits ("...00.000000100Z" vs "... 00.000000").
    # python-evtx prints microseconds, through a float, and drops a zero fraction: keep
    # microseconds since the epoch and compare within a few of them.
    m = re.match(r"(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d+))?", tc)
    whole = datetime.datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}").replace(tzinfo=datetime.timezone.utc)
    tc = int(whole.timestamp()) * 1_000_000 + int((m.group(3) or "").ljust(6, "0")[:6])
    data = {}
    ed = root.find(NS + "EventData")
    if ed is not None:
        for d in ed:
            data[d.get("Name")] = norm(d.text)
    ud = root.find(NS + "UserData")
    if ud is not None and len(ud):
        for d in ud[0]:
            data[d.tag.split("}")[-1]] = norm(d.text)
    return rid, (eid, tc, data)


def with_libevtx(path):
    out = subprocess.run(["evtxexport", "-f", "xml", path], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"evtxexport failed: {out.stderr.strip()}")
    events = {}
    for chunk in re.findall(r"<Event xmlns=.*?</Event>", out.stdout, re.S):
        rid, ev = event_of(ET.fromstring(chunk))
        events[rid] = ev
    return events


def _python_evtx_part(args):
    path, part, parts = args
    events = {}
    with evtx.Evtx(path) as log:
        for i, chunk in enumerate(log.chunks()):
            if i % parts != part:
                continue
            for rec in chunk.records():
                rid, ev = event_of(ET.fromstring(rec.xml()))
                events[rid] = ev
    return events


def with_python_evtx(path):
    # python-evtx is slow (a few hundred records/s); its chunks are independent, so split them.
    parts = max(1, min(4, os.cpu_count() or 1))
    events = {}
    with multiprocessing.Pool(parts) as pool:
        for part in pool.map(_python_evtx_part, [(path, i, parts) for i in range(parts)]):
            events.update(part)
    return events


def main(folder):
    problems = []
    security = {}
    files = sorted(glob.glob(os.path.join(folder, "logs", "*.evtx")))
    if not files:
        problems.append(f"{folder}: no .evtx files")
    for path in files:
        try:
            a = with_libevtx(path)
            b = with_python_evtx(path)
        except Exception as e:  # a parser failing is exactly what this check is for
            problems.append(f"{path}: {e}")
            continue
        if len(a) != len(b) or not a:
            problems.append(f"{path}: libevtx read {len(a)} records, python-evtx {len(b)}")
        for rid in sorted(set(a) | set(b)):
            ea, eb = a.get(rid), b.get(rid)
            same = ea and eb and ea[0] == eb[0] and ea[2] == eb[2] and abs(ea[1] - eb[1]) <= 5
            if not same:
                problems.append(f"{path}: record {rid}: libevtx {a.get(rid)} != python-evtx {b.get(rid)}")
                break
        if path.endswith("-Security.evtx"):
            security[os.path.basename(path)[: -len("-Security.evtx")]] = a
        print(f"{os.path.basename(path)}: {len(a)} records, both parsers agree" if len(a) == len(b) else "")
    logged = 0
    with open(os.path.join(folder, "truth.jsonl")) as f:
        for line in f:
            p = json.loads(line)
            if not p["logged"]:
                continue
            logged += 1
            ev = security.get(p["host"], {}).get(p["record_id"])
            if ev is None or ev[0] != 4688:
                problems.append(f"truth {p['id']}: no 4688 with record id {p['record_id']} on {p['host']}")
                continue
            _, tc, data = ev
            if data.get("NewProcessId") != p["pid"] or data.get("NewProcessName") != p["image"]:
                problems.append(f"truth {p['id']}: 4688 says pid {data.get('NewProcessId')} {data.get('NewProcessName')}")
            want = datetime.datetime.fromisoformat(p["start"][:26]).replace(tzinfo=datetime.timezone.utc)
            if abs(tc - (int(want.timestamp()) * 1_000_000 + want.microsecond)) > 1:
                problems.append(f"truth {p['id']}: 4688 time {tc} != {p['start']}")
    print(f"truth: {logged} logged processes checked")
    for pr in problems[:20]:
        print("PROBLEM:", pr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
