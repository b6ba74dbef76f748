-- 0016_session_links.sql: where each logon session came from. On its own host: the session a
-- type 9 (runas /netonly) logon was made in, or the other half of a split token. Across hosts:
-- the process on another host of the case that made a network or RDP logon, found through that
-- host's 4648s, Sysmon 3 connections and command lines, with the clock offset between the two
-- hosts taken into account. Also the scheduled tasks (4698-4702) and the classic PowerShell
-- engine events (400/403/800) and module logging (4103), tied to sessions and processes.
-- Derived by the graph stage, rebuilt with the graph.

CREATE TABLE session_links (
  session_key            TEXT PRIMARY KEY,
  origin_session_key     TEXT,   -- the session it was made in, on the same host
  origin_method          TEXT NOT NULL CONSTRAINT session_origin_method_known
                         CHECK (origin_method IN ('subject_logon_id', 'linked_logon_id', 'none')),
  source_host            TEXT,   -- the case host the logon came from (by its address or evidence)
  source_process_key     TEXT,   -- the process there that made it
  source_link_method     TEXT NOT NULL CONSTRAINT session_source_method_known
                         CHECK (source_link_method IN ('explicit_credentials', 'network_connection', 'command_line', 'none')),
  source_link_confidence REAL CONSTRAINT session_source_confidence_range CHECK (source_link_confidence BETWEEN 0 AND 1),
  source_candidates      TEXT,   -- JSON array of process keys that fit equally well: then none is linked
  clock_offset_seconds   REAL,   -- this host's clock minus the source host's, as the match used it
  source_why_not         TEXT,   -- a network logon with no source process: why
  CONSTRAINT session_source_needs_method CHECK ((source_process_key IS NULL) = (source_link_method = 'none'))
);

-- Addresses of the case's hosts, as the logs show them.
CREATE TABLE host_addresses (
  host     TEXT NOT NULL,
  address  TEXT NOT NULL,
  evidence TEXT NOT NULL CONSTRAINT host_address_evidence_known
           CHECK (evidence IN ('sysmon_source', 'sysmon_destination_name', 'logon_workstation', 'explicit_logon_target')),
  seen     INTEGER NOT NULL,  -- how many records say so
  CONSTRAINT host_address_once PRIMARY KEY (host, address, evidence)
);

-- The clock offset between two hosts, from the logons matched to their source processes.
CREATE TABLE host_clock_offsets (
  source_host    TEXT NOT NULL,
  target_host    TEXT NOT NULL,
  offset_seconds REAL NOT NULL,   -- target's clock minus source's (median over the pairs, latency included)
  pairs          INTEGER NOT NULL CONSTRAINT clock_offset_has_pairs CHECK (pairs >= 1),
  spread_seconds REAL NOT NULL,   -- max minus min over the pairs
  CONSTRAINT clock_offset_once PRIMARY KEY (source_host, target_host)
);

-- Scheduled tasks (4698 created, 4699 deleted, 4700 enabled, 4701 disabled, 4702 updated).
CREATE TABLE scheduled_task_links (
  event_pk            INTEGER PRIMARY KEY REFERENCES events (event_pk),
  task_name           TEXT,
  command             TEXT,   -- the first Exec action's Command
  arguments           TEXT,
  actions             INTEGER,  -- how many actions the XML holds
  triggers            TEXT,   -- the trigger kinds, comma separated (LogonTrigger, CalendarTrigger, ...)
  run_as              TEXT,   -- Principal UserId
  run_level           TEXT,
  creator_process_key TEXT,   -- a process whose command line registered it just before (schtasks /create, Register-ScheduledTask)
  session_key         TEXT,   -- SubjectLogonId's session
  creator_method      TEXT NOT NULL CONSTRAINT task_creator_method_known
                      CHECK (creator_method IN ('command_line', 'logon_id', 'none')),
  xml_error           TEXT    -- the task XML could not be read: why
);

-- The task's later runs: children of the Task Scheduler (taskeng.exe, svchost -k netsvcs / -s Schedule)
-- running its command.
CREATE TABLE scheduled_task_runs (
  event_pk    INTEGER NOT NULL REFERENCES events (event_pk),
  process_key TEXT NOT NULL,
  CONSTRAINT task_run_once PRIMARY KEY (event_pk, process_key)
);

-- Windows PowerShell's engine events (400 started, 403 stopped, 800 pipeline) and module logging
-- (4103), tied to the PowerShell process they came from.
CREATE TABLE powershell_event_links (
  event_pk         INTEGER PRIMARY KEY REFERENCES events (event_pk),
  host_application TEXT,    -- HostApplication / Host Application: the command line that started the host
  command_name     TEXT,    -- 800/4103: the command the pipeline ran
  process_key      TEXT,
  session_key      TEXT,
  link_method      TEXT NOT NULL CONSTRAINT powershell_event_link_known
                   CHECK (link_method IN ('execution_pid', 'host_application', 'none')),
  link_confidence  REAL CONSTRAINT powershell_event_confidence_range CHECK (link_confidence BETWEEN 0 AND 1),
  why_not          TEXT
);

DROP VIEW logon_sessions;
CREATE VIEW logon_sessions AS
SELECT s.session_key,
       s.host,
       s.boot,
       s.logon_id,
       printf('0x%x', s.logon_id) AS logon_id_hex,
       s.kind,
       s.logon_type,
       CASE s.logon_type WHEN 0 THEN 'system' WHEN 2 THEN 'interactive' WHEN 3 THEN 'network' WHEN 4 THEN 'batch'
            WHEN 5 THEN 'service' WHEN 7 THEN 'unlock' WHEN 8 THEN 'network_cleartext'
            WHEN 9 THEN 'new_credentials' WHEN 10 THEN 'remote_interactive'
            WHEN 11 THEN 'cached_interactive' WHEN 12 THEN 'cached_remote_interactive'
            WHEN 13 THEN 'cached_unlock' END AS logon_type_name,
       s.user_sid,
       CASE WHEN s.user_domain IS NOT NULL AND s.user_domain <> '' THEN s.user_domain || '\' || s.user_name
            ELSE s.user_name END AS user_name,
       s.ip_address,
       s.ip_port,
       s.workstation_name,
       s.auth_package,
       s.logon_process,
       s.elevated_token,
       s.special_privileges,
       s.linked_logon_id,
       s.linked_session_key,
       CASE WHEN s.start_time IS NOT NULL THEN
         strftime('%Y-%m-%dT%H:%M:%S', (s.start_time - 116444736000000000) / 10000000, 'unixepoch')
         || printf('.%07dZ', (s.start_time - 116444736000000000) % 10000000) END AS start_time,
       CASE WHEN s.end_time IS NOT NULL THEN
         strftime('%Y-%m-%dT%H:%M:%S', (s.end_time - 116444736000000000) / 10000000, 'unixepoch')
         || printf('.%07dZ', (s.end_time - 116444736000000000) % 10000000) END AS end_time,
       s.start_time AS start_ft,
       s.end_time AS end_ft,
       (SELECT count(*) FROM processes p WHERE p.session_key = s.session_key) AS process_count,
       l.origin_session_key,
       l.origin_method,
       l.source_host,
       l.source_process_key,
       l.source_link_method,
       l.source_link_confidence,
       l.source_candidates,
       l.clock_offset_seconds,
       l.source_why_not
FROM sessions s
LEFT JOIN session_links l ON l.session_key = s.session_key;

CREATE VIEW scheduled_tasks AS
SELECT e.event_pk, h.short_name AS host, e.event_id,
       CASE e.event_id WHEN 4698 THEN 'created' WHEN 4699 THEN 'deleted' WHEN 4700 THEN 'enabled'
            WHEN 4701 THEN 'disabled' WHEN 4702 THEN 'updated' END AS change,
       strftime('%Y-%m-%dT%H:%M:%S', (e.time - 116444736000000000) / 10000000, 'unixepoch')
         || printf('.%07dZ', (e.time - 116444736000000000) % 10000000) AS time_utc,
       e.time AS time_ft, t.task_name, t.command, t.arguments, t.actions, t.triggers, t.run_as, t.run_level,
       t.creator_process_key AS process_key, cp.pid AS creator_pid, cp.image AS creator_image,
       cp.command_line AS creator_command_line, t.session_key,
       CASE WHEN coalesce(s.user_domain, '') <> '' THEN s.user_domain || '\' || s.user_name ELSE s.user_name END
         AS creator_user,
       s.logon_type, s.ip_address, t.creator_method,
       (SELECT count(*) FROM scheduled_task_runs r WHERE r.event_pk = t.event_pk) AS runs,
       (SELECT min(r.process_key) FROM scheduled_task_runs r JOIN processes rp ON rp.process_key = r.process_key
        WHERE r.event_pk = t.event_pk AND rp.start_time = (SELECT min(rp2.start_time) FROM scheduled_task_runs r2
          JOIN processes rp2 ON rp2.process_key = r2.process_key WHERE r2.event_pk = t.event_pk)) AS first_run_process_key,
       t.xml_error, e.record_id, src.path AS source_path
FROM scheduled_task_links t
JOIN events e ON e.event_pk = t.event_pk
JOIN hosts h ON h.host_id = e.host_id
JOIN sources src ON src.source_id = e.source_id
LEFT JOIN processes cp ON cp.process_key = t.creator_process_key
LEFT JOIN sessions s ON s.session_key = t.session_key;

CREATE VIEW powershell_events AS
SELECT e.event_pk, h.short_name AS host, c.name AS channel, e.event_id,
       strftime('%Y-%m-%dT%H:%M:%S', (e.time - 116444736000000000) / 10000000, 'unixepoch')
         || printf('.%07dZ', (e.time - 116444736000000000) % 10000000) AS time_utc,
       e.time AS time_ft, l.host_application, l.command_name, e.execution_pid, l.process_key, p.pid, p.image,
       p.command_line, l.session_key,
       CASE WHEN coalesce(s.user_domain, '') <> '' THEN s.user_domain || '\' || s.user_name ELSE s.user_name END
         AS user_name,
       l.link_method, l.link_confidence, l.why_not, e.record_id, src.path AS source_path
FROM powershell_event_links l
JOIN events e ON e.event_pk = l.event_pk
JOIN hosts h ON h.host_id = e.host_id
JOIN channels c ON c.channel_id = e.channel_id
JOIN sources src ON src.source_id = e.source_id
LEFT JOIN processes p ON p.process_key = l.process_key
LEFT JOIN sessions s ON s.session_key = l.session_key;
