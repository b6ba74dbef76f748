-- 0005_findings.sql: what `treeline hunt` found. Detections (a rule's chain matched) and
-- coverage findings (what the logs cannot show) are kept apart by `kind`. Rebuilt by each hunt.

CREATE TABLE findings (
  finding_id  INTEGER PRIMARY KEY,
  kind        TEXT NOT NULL CONSTRAINT finding_kind_known CHECK (kind IN ('detection', 'coverage')),
  rule_id     TEXT NOT NULL,
  title       TEXT NOT NULL,
  severity    TEXT NOT NULL CONSTRAINT finding_severity_known
              CHECK (severity IN ('informational', 'low', 'medium', 'high', 'critical')),
  action      TEXT NOT NULL,  -- the normalized event.action
  attack      TEXT,           -- ATT&CK technique ids, comma separated
  log_id      TEXT,
  host        TEXT NOT NULL,
  time        INTEGER,        -- FILETIME of the flagged process's start (or of the coverage fact)
  process_key TEXT REFERENCES processes (process_key),
  chain       TEXT,           -- JSON array of process keys, ancestor first, the flagged process last
  matched     TEXT,           -- JSON object: rule field -> the value that matched
  detail      TEXT,           -- decoded command, resolved target, counts
  target_key  TEXT,           -- the process a dump command names (by PID at that time), if known
  user_name   TEXT,
  logon_type  INTEGER,
  ip_address  TEXT
);
CREATE INDEX findings_by_process ON findings (process_key);

CREATE VIEW findings_v AS
SELECT f.finding_id, f.kind, f.rule_id, f.title, f.severity, f.action, f.attack, f.log_id, f.host,
       CASE WHEN f.time IS NOT NULL THEN
         strftime('%Y-%m-%dT%H:%M:%S', (f.time - 116444736000000000) / 10000000, 'unixepoch')
         || printf('.%07dZ', (f.time - 116444736000000000) % 10000000) END AS time_utc,
       f.time AS time_ft, f.process_key, p.pid, p.image, p.command_line, f.chain, f.matched, f.detail,
       f.target_key, f.user_name, f.logon_type, f.ip_address
FROM findings f LEFT JOIN processes p ON p.process_key = f.process_key;
