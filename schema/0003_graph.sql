-- 0003_graph.sql: the process graph and logon sessions, rebuilt from the event tables by the
-- graph builder after every ingest. Nothing here is evidence: it is derived, and a rebuild
-- replaces it whole.

-- Boot epochs per host: a 4608 (system started) or 1100 (logging stopped) starts a new one.
-- Epoch 0 runs from before the first record; its start is unknown.
CREATE TABLE boots (
  host       TEXT NOT NULL,     -- hosts.short_name
  boot       INTEGER NOT NULL CONSTRAINT boot_not_negative CHECK (boot >= 0),
  start_time INTEGER,           -- FILETIME; NULL for epoch 0
  start_kind TEXT NOT NULL CONSTRAINT boot_start_kind_known CHECK (start_kind IN ('log_start', 'system_started', 'logging_stopped')),
  CONSTRAINT boot_once PRIMARY KEY (host, boot)
);

CREATE TABLE processes (
  process_key         TEXT PRIMARY KEY,  -- "host:pid:start FILETIME", or "host:pid:bootN:name?" for a placeholder
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
CREATE INDEX processes_by_host_pid ON processes (host, pid, start_time);
CREATE INDEX processes_by_session ON processes (session_key);

-- One row per process that has a parent (placeholders have none).
CREATE TABLE process_edges (
  child_key     TEXT PRIMARY KEY REFERENCES processes (process_key),
  parent_key    TEXT NOT NULL REFERENCES processes (process_key),
  method        TEXT NOT NULL CONSTRAINT edge_method_known
                CHECK (method IN ('sysmon_guid', 'pid_time_name', 'pid_time', 'placeholder')),
  candidates    INTEGER NOT NULL CONSTRAINT edge_candidates_not_negative CHECK (candidates >= 0),
  confidence    REAL NOT NULL CONSTRAINT edge_confidence_is_probability CHECK (confidence BETWEEN 0 AND 1),
  -- Why no logged process could be the parent; set exactly when the parent is a placeholder.
  orphan_reason TEXT CONSTRAINT edge_orphan_reason_known
                CHECK (orphan_reason IN ('before_first_record', 'log_cleared', 'boot_between',
                                         'no_process_auditing', 'parent_not_logged')),
  CONSTRAINT edge_reason_iff_placeholder CHECK ((method = 'placeholder') = (orphan_reason IS NOT NULL))
);
CREATE INDEX process_edges_by_parent ON process_edges (parent_key);

CREATE TABLE sessions (
  session_key        TEXT PRIMARY KEY,  -- "host:0xLOGONID:logon FILETIME", or "host:0xLOGONID:bootN"
  host               TEXT NOT NULL,
  boot               INTEGER NOT NULL,
  logon_id           INTEGER NOT NULL,
  kind               TEXT NOT NULL CONSTRAINT session_kind_known CHECK (kind IN ('logon', 'well_known', 'unseen')),
  logon_event_pk     INTEGER REFERENCES events (event_pk),
  start_time         INTEGER,
  end_time           INTEGER,           -- 4634/4647
  logon_type         INTEGER,
  user_sid           TEXT,
  user_name          TEXT,
  user_domain        TEXT,
  ip_address         TEXT,
  ip_port            INTEGER,
  workstation_name   TEXT,
  auth_package       TEXT,
  logon_process      TEXT,
  elevated_token     TEXT,
  special_privileges INTEGER NOT NULL DEFAULT 0 CONSTRAINT session_special_is_bool CHECK (special_privileges IN (0, 1)),
  linked_logon_id    INTEGER,           -- TargetLinkedLogonId: the other half of a split UAC token
  linked_session_key TEXT
);
CREATE INDEX sessions_by_host_logon ON sessions (host, logon_id);
