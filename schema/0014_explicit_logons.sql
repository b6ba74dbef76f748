-- 0014_explicit_logons.sql: each 4648 (a logon with explicit credentials) tied to the process
-- that used them and its session. Derived by the graph stage, rebuilt with the graph.

CREATE TABLE explicit_logon_links (
  event_pk        INTEGER PRIMARY KEY REFERENCES events (event_pk),
  process_key     TEXT,
  session_key     TEXT,
  link_method     TEXT NOT NULL CONSTRAINT explicit_logon_link_known
                  CHECK (link_method IN ('pid_time_name', 'pid_time', 'logon_id', 'none')),
  link_confidence REAL CONSTRAINT explicit_logon_confidence_range CHECK (link_confidence BETWEEN 0 AND 1),
  why_not         TEXT  -- no process linked: why (no process held the PID then, or it had another image)
);

-- One row per 4648: who used whose credentials, for which server, from which process.
CREATE VIEW explicit_logons AS
SELECT e.event_pk, h.short_name AS host,
       strftime('%Y-%m-%dT%H:%M:%S', (e.time - 116444736000000000) / 10000000, 'unixepoch')
         || printf('.%07dZ', (e.time - 116444736000000000) % 10000000) AS time_utc,
       e.time AS time_ft,
       CASE WHEN coalesce(x.subject_domain_name, '') <> '' THEN x.subject_domain_name || '\' || x.subject_user_name
            ELSE x.subject_user_name END AS subject_user,
       x.subject_logon_id,
       CASE WHEN coalesce(x.target_domain_name, '') <> '' THEN x.target_domain_name || '\' || x.target_user_name
            ELSE x.target_user_name END AS target_user,
       x.target_server_name, x.target_info, x.ip_address, x.ip_port, x.process_id, x.process_name,
       l.process_key, p.pid, p.image, p.command_line, l.session_key, s.logon_type, s.ip_address AS session_ip_address,
       l.link_method, l.link_confidence, l.why_not, e.record_id, src.path AS source_path
FROM sec_explicit_logon x
JOIN events e ON e.event_pk = x.event_pk
JOIN hosts h ON h.host_id = e.host_id
JOIN sources src ON src.source_id = e.source_id
LEFT JOIN explicit_logon_links l ON l.event_pk = x.event_pk
LEFT JOIN processes p ON p.process_key = l.process_key
LEFT JOIN sessions s ON s.session_key = l.session_key;
