-- 0015_services_installed.sql: each service install (System 7045, Security 4697) tied to the
-- process or session that installed it and to the service's own process. Derived by the graph
-- stage, rebuilt with the graph.

CREATE TABLE service_install_links (
  event_pk              INTEGER PRIMARY KEY REFERENCES events (event_pk),
  service_name          TEXT,
  image_path            TEXT,   -- 7045 ImagePath, 4697 ServiceFileName, as written
  service_type          TEXT,
  start_type            TEXT,
  account               TEXT,
  installer_process_key TEXT,   -- a process whose command line created it just before (sc create, New-Service)
  installer_session_key TEXT,   -- 4697's SubjectLogonId, or the installer process's session
  installer_method      TEXT NOT NULL CONSTRAINT service_installer_method_known
                        CHECK (installer_method IN ('command_line', 'logon_id', 'none')),
  service_process_key   TEXT,   -- services.exe's child with that image, started after the install
  service_link_method   TEXT NOT NULL CONSTRAINT service_process_method_known
                        CHECK (service_link_method IN ('services_child_image', 'none'))
);

CREATE VIEW services_installed AS
SELECT e.event_pk, h.short_name AS host, e.event_id,
       strftime('%Y-%m-%dT%H:%M:%S', (e.time - 116444736000000000) / 10000000, 'unixepoch')
         || printf('.%07dZ', (e.time - 116444736000000000) % 10000000) AS time_utc,
       e.time AS time_ft, l.service_name, l.image_path, l.service_type, l.start_type, l.account,
       l.installer_process_key AS process_key, ip.pid AS installer_pid, ip.image AS installer_image,
       ip.command_line AS installer_command_line, l.installer_session_key AS session_key,
       CASE WHEN coalesce(s.user_domain, '') <> '' THEN s.user_domain || '\' || s.user_name ELSE s.user_name END
         AS installer_user,
       s.logon_type, s.ip_address, l.installer_method, l.service_process_key, sp.pid AS service_pid,
       sp.start_time AS service_start_ft, l.service_link_method, e.record_id, src.path AS source_path
FROM service_install_links l
JOIN events e ON e.event_pk = l.event_pk
JOIN hosts h ON h.host_id = e.host_id
JOIN sources src ON src.source_id = e.source_id
LEFT JOIN processes ip ON ip.process_key = l.installer_process_key
LEFT JOIN processes sp ON sp.process_key = l.service_process_key
LEFT JOIN sessions s ON s.session_key = l.installer_session_key;
