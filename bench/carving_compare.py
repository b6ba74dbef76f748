#!/usr/bin/env python3
"""Native carving against libevtx's recovery, file by file, over every EVTX in ../shared/data.

Ingests the folder twice, with --reader auto (native, carving) and --reader libevtx (its normal
records and its recovery), and lists for every file with recovered records: what each found, the
overlap, and for each record only one of them kept, why the other did not (treeline's issue for
that record, or "not found" when libevtx's recovery never named it). Records both kept are
checked for the same channel, provider and event id.

usage: bench/carving_compare.py [--data ../shared/data] [--out bench/out]
"""
import argparse
import collections
import os
import sqlite3
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--data", default="../shared/data")
ap.add_argument("--out", default="bench/out")
ap.add_argument("--binary", default="build/src/cli/treeline")
args = ap.parse_args()
os.makedirs(args.out, exist_ok=True)
dbs = {}
for reader in ("auto", "libevtx"):
    db = os.path.join(args.out, f"carving-{reader}.db")
    if os.path.exists(db):
        os.remove(db)
    subprocess.run([args.binary, "ingest", "-q", "--no-graph", "--reader", reader, db, args.data],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    dbs[reader] = sqlite3.connect(db)
    dbs[reader].text_factory = lambda b: b.decode("utf-8", "replace")


def recovered(db):
    out = collections.defaultdict(dict)
    for path, rid, t, ch, prov, eid in db.execute(
            "SELECT source_path, record_id, time_ft, channel, provider, event_id FROM events_v WHERE recovered"):
        out[path][(rid, t)] = (ch, prov, eid)
    return out


def live(db):
    return {(p, r, t) for p, r, t in db.execute("SELECT source_path, record_id, time_ft FROM events_v WHERE NOT recovered")}


carved, theirs = recovered(dbs["auto"]), recovered(dbs["libevtx"])
live_auto = live(dbs["auto"])
reasons = collections.defaultdict(dict)
for path, loc, reason in dbs["auto"].execute(
        "SELECT s.path, i.location, i.reason FROM ingest_issues i JOIN sources s USING (source_id) "
        "WHERE i.location LIKE 'carved record %'"):
    rid = int(loc.split()[2])
    reasons[path][rid] = reason.replace("a fragment in free space that does not decode for sure (", "").rstrip("; not kept").rstrip(")")
totals = collections.Counter()
why_not = collections.Counter()
for path in sorted(set(carved) | set(theirs)):
    a, b = carved.get(path, {}), theirs.get(path, {})
    both = set(a) & set(b)
    # A record libevtx recovered that treeline reads live is not a loss.
    only_b = {k for k in set(b) - set(a) if (path, k[0], k[1]) not in live_auto}
    only_a = set(a) - set(b)
    # Where libevtx's reading could not render a fragment's XML, treeline's libevtx reader assumes
    # the file's channel ("channel unknown; assumed ..."): a channel-only difference is that.
    disagree = [k for k in both if a[k][1:] != b[k][1:]]
    assumed = [k for k in both if a[k][1:] == b[k][1:] and a[k][0] != b[k][0]]
    totals.update(carved=len(a), libevtx=len(b), both=len(both), only_carved=len(only_a), only_libevtx=len(only_b),
                  disagree=len(disagree), channel_assumed_by_libevtx_path=len(assumed))
    print(f"{os.path.relpath(path, args.data)}\n  carved {len(a)}  libevtx {len(b)}  both {len(both)}  "
          f"only carved {len(only_a)}  only libevtx {len(only_b)}  other provider or event id {len(disagree)}  "
          f"channel assumed by the libevtx path {len(assumed)}")
    for k in sorted(only_b)[:5]:
        why = reasons.get(path, {}).get(k[0], "no frame (signature, size copy, time) found")
        why_not[why.split("'")[0].split(" (")[0].split(" with GUID")[0].split(" has GUID")[0][:50]] += 1
        print(f"    libevtx only: record {k[0]} {b[k]}: carving: {why[:140]}")
    for k in sorted(only_a)[:3]:
        print(f"    carved only: record {k[0]} {a[k]}")
    for k in disagree[:3]:
        print(f"    DISAGREE record {k[0]}: carved {a[k]}, libevtx {b[k]}")
    for k in assumed[:1]:
        print(f"    channel: record {k[0]}: carved {a[k][0]} (its template's), libevtx path {b[k][0]} (the file's)")
print("\ntotals:", dict(totals))
print("why carving did not keep what libevtx recovered (first 5 per file):", dict(why_not.most_common(8)))
sys.exit(1 if totals["disagree"] else 0)
