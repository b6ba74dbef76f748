#!/usr/bin/env bash
# The story joins on the real logs of ../shared/data, against Sysmon's own truth:
#  - 4104 -> process: how many blocks name a PID, how many had a logged process holding it then,
#    how many a later process with that PID (which a PID-only join would wrongly take);
#  - cross-host logons: the connection whose source port and address are the logon's IpPort and
#    IpAddress (bench/cross_host_truth.sql), against treeline's source process;
#  - the clock offsets found.
# Usage: bench/story_real.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
data=$here/../../shared/data
[ -d "$data" ] || { echo "no ../shared/data: nothing to measure" >&2; exit 0; }
case_db=$(mktemp -d)/case.db
"$build/src/cli/treeline" ingest -q "$case_db" "$data" 2>/dev/null || true
q() { sqlite3 -header -column "$case_db" "$@"; }
echo "== 4104 script blocks"
q "SELECT count(*) AS blocks, sum(execution_pid IS NOT NULL) AS with_pid, sum(process_key IS NOT NULL) AS linked,
      sum(EXISTS (SELECT 1 FROM processes p WHERE p.host = b.host AND p.pid = b.execution_pid AND p.source <> 'placeholder'
                  AND p.start_time <= b.time_ft AND (p.end_time IS NULL OR p.end_time >= b.time_ft))) AS truth_holder_logged,
      sum(EXISTS (SELECT 1 FROM processes p WHERE p.host = b.host AND p.pid = b.execution_pid AND p.source <> 'placeholder'
                  AND p.start_time > b.time_ft)) AS later_process_same_pid
   FROM script_blocks b"
echo "== PowerShell engine events (400/403/800/4103)"
q "SELECT link_method, why_not, count(*) AS events FROM powershell_events GROUP BY 1, 2 ORDER BY 3 DESC"
echo "== cross-host logons against Sysmon's source-port truth"
q < "$here/cross_host_truth.sql"
echo "== session links"
q "SELECT origin_method, source_link_method, count(*) AS sessions, sum(source_candidates IS NOT NULL) AS ambiguous
   FROM session_links GROUP BY 1, 2"
echo "== clock offsets"
q "SELECT * FROM host_clock_offsets"
echo "== scheduled tasks"
q "SELECT change, creator_method, count(*) AS tasks, sum(runs > 0) AS with_runs, sum(xml_error IS NOT NULL) AS xml_errors
   FROM scheduled_tasks GROUP BY 1, 2"
rm -rf "$(dirname "$case_db")"
