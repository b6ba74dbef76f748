-- 0013_script_blocks.sql: PowerShell script blocks (4104), each reassembled from its parts and
-- tied to the process that ran it. Derived by the graph stage, rebuilt with the graph.

CREATE TABLE ps_script_blocks (
  script_block_key TEXT PRIMARY KEY,  -- "host:ScriptBlockId"
  host             TEXT NOT NULL,
  script_block_id  TEXT NOT NULL,
  first_event_pk   INTEGER NOT NULL REFERENCES events (event_pk),  -- the earliest part in the log
  time             INTEGER NOT NULL,                               -- FILETIME of that part
  parts_total      INTEGER,            -- MessageTotal as the parts say it
  parts_seen       INTEGER NOT NULL CONSTRAINT script_block_has_parts CHECK (parts_seen >= 1),
  missing_parts    TEXT,               -- "2,5": the MessageNumbers not in the log (NULL: none)
  path             TEXT,               -- the script file, when it ran from one
  text             TEXT NOT NULL,      -- the parts in MessageNumber order; a gap reads "[part N of M not in the log]"
  execution_pid    INTEGER,
  process_key      TEXT,
  session_key      TEXT,
  link_method      TEXT NOT NULL CONSTRAINT script_block_link_known CHECK (link_method IN ('execution_pid', 'none')),
  link_confidence  REAL CONSTRAINT script_block_confidence_range CHECK (link_confidence BETWEEN 0 AND 1)
);
CREATE INDEX ps_script_blocks_by_process ON ps_script_blocks (process_key);

-- One row per script block, with its process and session (the public face).
CREATE VIEW script_blocks AS
SELECT b.script_block_key, b.host, b.script_block_id,
       strftime('%Y-%m-%dT%H:%M:%S', (b.time - 116444736000000000) / 10000000, 'unixepoch')
         || printf('.%07dZ', (b.time - 116444736000000000) % 10000000) AS time_utc,
       b.time AS time_ft, b.parts_total, b.parts_seen, b.missing_parts, b.path, b.text, b.execution_pid,
       b.process_key, p.pid, p.image, p.command_line, b.session_key,
       CASE WHEN coalesce(s.user_domain, '') <> '' THEN s.user_domain || '\' || s.user_name ELSE s.user_name END
         AS user_name,
       s.logon_type, s.ip_address, b.link_method, b.link_confidence, b.first_event_pk, e.record_id, src.path AS source_path
FROM ps_script_blocks b
LEFT JOIN processes p ON p.process_key = b.process_key
LEFT JOIN sessions s ON s.session_key = b.session_key
JOIN events e ON e.event_pk = b.first_event_pk
JOIN sources src ON src.source_id = e.source_id;
