-- 0001_case.sql: the case database's base tables.
-- Every event row points at the source file it came from and its record id there, so any
-- finding can be traced back to the evidence. Times are Windows FILETIME integers (100 ns
-- ticks since 1601-01-01 UTC), the full precision EVTX stores; views show ISO 8601 UTC text.

CREATE TABLE sources (
  source_id         INTEGER PRIMARY KEY,
  path              TEXT NOT NULL,
  size              INTEGER NOT NULL CONSTRAINT source_size_not_negative CHECK (size >= 0),
  sha256            TEXT NOT NULL CONSTRAINT source_sha256_is_hex CHECK (length(sha256) = 64),
  format            TEXT NOT NULL CONSTRAINT source_format_known CHECK (format IN ('evtx', 'json', 'xml')),
  container         TEXT,   -- the archive a member came from, NULL for plain files
  member            TEXT,   -- the member path inside `container`
  reader            TEXT NOT NULL,
  ingested_at       TEXT NOT NULL,
  status            TEXT NOT NULL CONSTRAINT source_status_known CHECK (status IN ('complete', 'partial')),
  records_read      INTEGER NOT NULL DEFAULT 0,
  records_new       INTEGER NOT NULL DEFAULT 0,
  records_duplicate INTEGER NOT NULL DEFAULT 0,
  records_recovered INTEGER NOT NULL DEFAULT 0,
  records_skipped   INTEGER NOT NULL DEFAULT 0,
  -- The same bytes ingested twice (a copy, a re-run) are one source.
  CONSTRAINT source_content_once UNIQUE (sha256)
);

-- What could not be read, per source: the record (index or id) and why. Nothing is dropped silently.
CREATE TABLE ingest_issues (
  source_id  INTEGER NOT NULL REFERENCES sources (source_id),
  location   TEXT NOT NULL,  -- "record 1234", "chunk 7", "line 88"
  severity   TEXT NOT NULL CONSTRAINT issue_severity_known CHECK (severity IN ('skipped', 'warning')),
  reason     TEXT NOT NULL
);

CREATE TABLE hosts (
  host_id    INTEGER PRIMARY KEY,
  computer   TEXT NOT NULL CONSTRAINT host_computer_once UNIQUE,  -- as the log writes it
  short_name TEXT NOT NULL                                         -- lower-case, before the first dot
);
CREATE INDEX hosts_by_short_name ON hosts (short_name);

CREATE TABLE channels (
  channel_id INTEGER PRIMARY KEY,
  name       TEXT NOT NULL CONSTRAINT channel_name_once UNIQUE
);

CREATE TABLE providers (
  provider_id INTEGER PRIMARY KEY,
  name        TEXT NOT NULL CONSTRAINT provider_name_once UNIQUE
);

-- One row per event record of every kind, known or not, so counts and timelines are complete.
CREATE TABLE events (
  event_pk    INTEGER PRIMARY KEY,
  source_id   INTEGER NOT NULL REFERENCES sources (source_id),
  record_id   INTEGER NOT NULL,  -- EventRecordID
  file_record INTEGER,           -- the record number in the file when it differs (re-exported logs)
  recovered   INTEGER NOT NULL CONSTRAINT event_recovered_is_bool CHECK (recovered IN (0, 1)),
  host_id     INTEGER NOT NULL REFERENCES hosts (host_id),
  channel_id  INTEGER NOT NULL REFERENCES channels (channel_id),
  provider_id INTEGER REFERENCES providers (provider_id),
  event_id    INTEGER NOT NULL CONSTRAINT event_id_in_range CHECK (event_id BETWEEN 0 AND 65535),
  version     INTEGER,
  time        INTEGER NOT NULL,
  -- Overlapping exports of one log carry the same record: host, channel, record id and time
  -- identify it. Record ids restart after a log is cleared, hence the time.
  CONSTRAINT event_identity UNIQUE (host_id, channel_id, record_id, time)
);
CREATE INDEX events_by_host_time ON events (host_id, time);
CREATE INDEX events_by_event_id ON events (event_id, channel_id);

-- Security 4688: a process was created. Versions 0, 1 and 2 fill progressively more columns.
CREATE TABLE sec_process_create (
  event_pk             INTEGER PRIMARY KEY REFERENCES events (event_pk),
  subject_user_sid     TEXT,
  subject_user_name    TEXT,
  subject_domain_name  TEXT,
  subject_logon_id     INTEGER,
  new_process_id       INTEGER,
  new_process_name     TEXT,
  token_elevation_type TEXT,
  process_id           INTEGER,  -- the creator's PID (the parent)
  command_line         TEXT,     -- v1+; empty when command-line auditing is off
  target_user_sid      TEXT,     -- v2
  target_user_name     TEXT,
  target_domain_name   TEXT,
  target_logon_id      INTEGER,
  parent_process_name  TEXT,     -- v2 with 15 values
  mandatory_label      TEXT
);
CREATE INDEX sec_process_create_by_pid ON sec_process_create (new_process_id);

-- Security 4689: a process exited.
CREATE TABLE sec_process_exit (
  event_pk            INTEGER PRIMARY KEY REFERENCES events (event_pk),
  subject_user_sid    TEXT,
  subject_user_name   TEXT,
  subject_domain_name TEXT,
  subject_logon_id    INTEGER,
  status              INTEGER,
  process_id          INTEGER,
  process_name        TEXT
);
CREATE INDEX sec_process_exit_by_pid ON sec_process_exit (process_id);

-- Security 4624: an account logged on.
CREATE TABLE sec_logon (
  event_pk                    INTEGER PRIMARY KEY REFERENCES events (event_pk),
  subject_user_sid            TEXT,
  subject_user_name           TEXT,
  subject_domain_name         TEXT,
  subject_logon_id            INTEGER,
  target_user_sid             TEXT,
  target_user_name            TEXT,
  target_domain_name          TEXT,
  target_logon_id             INTEGER,
  logon_type                  INTEGER,
  logon_process_name          TEXT,
  authentication_package_name TEXT,
  workstation_name            TEXT,
  logon_guid                  TEXT,
  transmitted_services        TEXT,
  lm_package_name             TEXT,
  key_length                  INTEGER,
  process_id                  INTEGER,
  process_name                TEXT,
  ip_address                  TEXT,
  ip_port                     INTEGER,
  impersonation_level         TEXT,     -- v1
  restricted_admin_mode       TEXT,     -- v2
  target_outbound_user_name   TEXT,
  target_outbound_domain_name TEXT,
  virtual_account             TEXT,
  target_linked_logon_id      INTEGER,  -- the other half of a split UAC token
  elevated_token              TEXT,
  remote_credential_guard     TEXT      -- v3
);
CREATE INDEX sec_logon_by_logon_id ON sec_logon (target_logon_id);

-- Security 4634 (logged off, with LogonType) and 4647 (user-initiated logoff).
CREATE TABLE sec_logoff (
  event_pk           INTEGER PRIMARY KEY REFERENCES events (event_pk),
  target_user_sid    TEXT,
  target_user_name   TEXT,
  target_domain_name TEXT,
  target_logon_id    INTEGER,
  logon_type         INTEGER
);
CREATE INDEX sec_logoff_by_logon_id ON sec_logoff (target_logon_id);

-- Security 4648: a logon was attempted with explicit credentials.
CREATE TABLE sec_explicit_logon (
  event_pk            INTEGER PRIMARY KEY REFERENCES events (event_pk),
  subject_user_sid    TEXT,
  subject_user_name   TEXT,
  subject_domain_name TEXT,
  subject_logon_id    INTEGER,
  logon_guid          TEXT,
  target_user_name    TEXT,
  target_domain_name  TEXT,
  target_logon_guid   TEXT,
  target_server_name  TEXT,
  target_info         TEXT,
  process_id          INTEGER,
  process_name        TEXT,
  ip_address          TEXT,
  ip_port             INTEGER
);

-- Security 4672: special privileges assigned to a new logon.
CREATE TABLE sec_special_logon (
  event_pk            INTEGER PRIMARY KEY REFERENCES events (event_pk),
  subject_user_sid    TEXT,
  subject_user_name   TEXT,
  subject_domain_name TEXT,
  subject_logon_id    INTEGER,
  privilege_list      TEXT
);
CREATE INDEX sec_special_logon_by_logon_id ON sec_special_logon (subject_logon_id);

-- Security 1102: the audit log was cleared, and by whom.
CREATE TABLE sec_log_cleared (
  event_pk            INTEGER PRIMARY KEY REFERENCES events (event_pk),
  subject_user_sid    TEXT,
  subject_user_name   TEXT,
  subject_domain_name TEXT,
  subject_logon_id    INTEGER
);

-- Sysmon 1 (process create) and 5 (process terminated). 5 fills only the first few columns.
CREATE TABLE sysmon_process (
  event_pk            INTEGER PRIMARY KEY REFERENCES events (event_pk),
  utc_time            TEXT,  -- Sysmon's own clock: kept, but events.time is canonical
  process_guid        TEXT,
  process_id          INTEGER,
  image               TEXT,
  command_line        TEXT,
  current_directory   TEXT,
  user                TEXT,
  logon_guid          TEXT,
  logon_id            INTEGER,
  terminal_session_id INTEGER,
  integrity_level     TEXT,
  hashes              TEXT,
  parent_process_guid TEXT,
  parent_process_id   INTEGER,
  parent_image        TEXT,
  parent_command_line TEXT,
  rule_name           TEXT,
  file_version        TEXT,
  description         TEXT,
  product             TEXT,
  company             TEXT,
  original_file_name  TEXT,
  parent_user         TEXT
);
CREATE INDEX sysmon_process_by_guid ON sysmon_process (process_guid);
