-- 0008_process_ids.sql: an integer identity for every process, and each process event's
-- process and parent by that identity, so the timeline joins an event to its process with
-- integer lookups instead of three index searches and text-key joins per event.

-- processes is rebuilt as SQLite's documented table-change procedure does (new table, copy,
-- drop, rename; the migration runs with foreign keys off and checks them before it commits).
-- process_id is the rowid: an INTEGER PRIMARY KEY keeps its values across VACUUM, which the
-- implicit rowid does not. process_key stays the key every other table and view uses.
-- legacy_alter_table leaves the views that name `processes` as they are during the rename.
PRAGMA legacy_alter_table = ON;
CREATE TABLE processes_0008 (
  process_id          INTEGER PRIMARY KEY,  -- assigned by the graph builder; stable until the next rebuild
  process_key         TEXT NOT NULL CONSTRAINT process_key_once UNIQUE,  -- "host:pid:start FILETIME", or "host:pid:bootN:name?" for a placeholder
  host                TEXT NOT NULL,
  boot                INTEGER NOT NULL,
  pid                 INTEGER NOT NULL,
  image               TEXT,
  command_line        TEXT,
  start_time          INTEGER,           -- FILETIME; NULL for a placeholder
  end_time            INTEGER,           -- from 4689 or Sysmon 5
  source              TEXT NOT NULL CONSTRAINT process_source_known CHECK (source IN ('4688', 'sysmon', 'both', 'placeholder')),
  create_event_pk     INTEGER REFERENCES events (event_pk),  -- the 4688
  sysmon_event_pk     INTEGER REFERENCES events (event_pk),  -- the Sysmon 1
  exit_event_pk       INTEGER REFERENCES events (event_pk),
  process_guid        TEXT,
  user_sid            TEXT,
  user_name           TEXT,
  user_domain         TEXT,
  logon_id            INTEGER,           -- TargetLogonId when non-zero, else SubjectLogonId
  integrity_level     TEXT,
  token_elevation     TEXT,              -- 4688 TokenElevationType (%%1936 default, %%1937 full, %%1938 limited)
  parent_command_line TEXT,              -- Sysmon
  hashes              TEXT,              -- Sysmon
  original_file_name  TEXT,              -- Sysmon
  session_key         TEXT
);
INSERT INTO processes_0008 (process_id, process_key, host, boot, pid, image, command_line, start_time, end_time,
                            source, create_event_pk, sysmon_event_pk, exit_event_pk, process_guid, user_sid,
                            user_name, user_domain, logon_id, integrity_level, token_elevation,
                            parent_command_line, hashes, original_file_name, session_key)
SELECT rowid, process_key, host, boot, pid, image, command_line, start_time, end_time,
       source, create_event_pk, sysmon_event_pk, exit_event_pk, process_guid, user_sid,
       user_name, user_domain, logon_id, integrity_level, token_elevation,
       parent_command_line, hashes, original_file_name, session_key
FROM processes ORDER BY rowid;
DROP TABLE processes;
ALTER TABLE processes_0008 RENAME TO processes;
PRAGMA legacy_alter_table = OFF;
CREATE INDEX processes_by_host_pid ON processes (host, pid, start_time);
CREATE INDEX processes_by_session ON processes (session_key);
CREATE INDEX processes_by_create_event ON processes (create_event_pk);
CREATE INDEX processes_by_sysmon_event ON processes (sysmon_event_pk);
CREATE INDEX processes_by_exit_event ON processes (exit_event_pk);

-- The process each process event is about (4688 and Sysmon 1 create it, 4689 and Sysmon 5 end
-- it), that process's parent, and its logon session's type and source address: what the
-- timeline shows of an event's process, written by the graph builder with the processes.
CREATE TABLE event_processes (
  event_pk   INTEGER PRIMARY KEY REFERENCES events (event_pk),
  process_id INTEGER NOT NULL REFERENCES processes (process_id),
  parent_id  INTEGER REFERENCES processes (process_id),  -- NULL: no link (a placeholder has none)
  logon_type INTEGER,  -- sessions.logon_type of the process's session
  ip_address TEXT      -- sessions.ip_address
);
INSERT INTO event_processes (event_pk, process_id, parent_id, logon_type, ip_address)
SELECT x.event_pk, x.process_id, pp.process_id, s.logon_type, s.ip_address
FROM (SELECT create_event_pk AS event_pk, process_id, process_key, session_key FROM processes WHERE create_event_pk IS NOT NULL
      UNION ALL
      SELECT sysmon_event_pk, process_id, process_key, session_key FROM processes WHERE sysmon_event_pk IS NOT NULL
      UNION ALL
      SELECT exit_event_pk, process_id, process_key, session_key FROM processes WHERE exit_event_pk IS NOT NULL) x
LEFT JOIN process_edges e ON e.child_key = x.process_key
LEFT JOIN processes pp ON pp.process_key = e.parent_key
LEFT JOIN sessions s ON s.session_key = x.session_key;
