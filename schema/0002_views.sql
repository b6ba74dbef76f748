-- 0002_views.sql: the public views analysts and tools query. They are a contract: columns are
-- added, never renamed or removed. Times are ISO 8601 UTC text with 100 ns precision
-- ("2022-08-31T19:18:41.6762812Z"); the raw FILETIME stays available as `time_ft`.

-- Every event with its provenance.
CREATE VIEW events_v AS
SELECT e.event_pk,
       strftime('%Y-%m-%dT%H:%M:%S', (e.time - 116444736000000000) / 10000000, 'unixepoch')
         || printf('.%07dZ', (e.time - 116444736000000000) % 10000000) AS time_utc,
       e.time AS time_ft,
       h.computer AS host,
       h.short_name AS host_short,
       c.name AS channel,
       p.name AS provider,
       e.event_id,
       e.version,
       e.record_id,
       e.file_record,
       e.recovered,
       s.path AS source_path,
       s.sha256 AS source_sha256
FROM events e
JOIN hosts h ON h.host_id = e.host_id
JOIN channels c ON c.channel_id = e.channel_id
LEFT JOIN providers p ON p.provider_id = e.provider_id
JOIN sources s ON s.source_id = e.source_id;

-- Security 4688 with the effective logon: TargetLogonId when non-zero (v2), else SubjectLogonId.
CREATE VIEW process_creations AS
SELECT v.event_pk, v.time_utc, v.time_ft, v.host, v.host_short, v.version,
       pc.new_process_id AS pid,
       printf('0x%x', pc.new_process_id) AS pid_hex,
       pc.new_process_name AS image,
       pc.command_line,
       pc.process_id AS parent_pid,
       pc.parent_process_name AS parent_image,
       pc.subject_user_sid, pc.subject_user_name, pc.subject_domain_name, pc.subject_logon_id,
       pc.target_user_sid, pc.target_user_name, pc.target_domain_name, pc.target_logon_id,
       CASE WHEN pc.target_logon_id IS NOT NULL AND pc.target_logon_id <> 0
            THEN pc.target_logon_id ELSE pc.subject_logon_id END AS logon_id,
       pc.token_elevation_type,
       CASE pc.token_elevation_type WHEN '%%1936' THEN 'default' WHEN '%%1937' THEN 'full'
            WHEN '%%1938' THEN 'limited' END AS elevation,
       pc.mandatory_label,
       CASE pc.mandatory_label WHEN 'S-1-16-0' THEN 'untrusted' WHEN 'S-1-16-4096' THEN 'low'
            WHEN 'S-1-16-8192' THEN 'medium' WHEN 'S-1-16-8448' THEN 'medium_plus'
            WHEN 'S-1-16-12288' THEN 'high' WHEN 'S-1-16-16384' THEN 'system'
            WHEN 'S-1-16-20480' THEN 'protected' END AS integrity_level,
       v.record_id, v.source_path
FROM sec_process_create pc JOIN events_v v ON v.event_pk = pc.event_pk;

CREATE VIEW process_exits AS
SELECT v.event_pk, v.time_utc, v.time_ft, v.host, v.host_short,
       pe.process_id AS pid, pe.process_name AS image, pe.status,
       pe.subject_user_name, pe.subject_domain_name, pe.subject_logon_id AS logon_id,
       v.record_id, v.source_path
FROM sec_process_exit pe JOIN events_v v ON v.event_pk = pe.event_pk;

CREATE VIEW logons AS
SELECT v.event_pk, v.time_utc, v.time_ft, v.host, v.host_short, v.version,
       l.target_logon_id AS logon_id,
       printf('0x%x', l.target_logon_id) AS logon_id_hex,
       l.logon_type,
       CASE l.logon_type WHEN 2 THEN 'interactive' WHEN 3 THEN 'network' WHEN 4 THEN 'batch'
            WHEN 5 THEN 'service' WHEN 7 THEN 'unlock' WHEN 8 THEN 'network_cleartext'
            WHEN 9 THEN 'new_credentials' WHEN 10 THEN 'remote_interactive'
            WHEN 11 THEN 'cached_interactive' WHEN 12 THEN 'cached_remote_interactive'
            WHEN 13 THEN 'cached_unlock' END AS logon_type_name,
       l.target_user_sid AS user_sid, l.target_user_name AS user_name,
       l.target_domain_name AS domain_name,
       l.ip_address, l.ip_port, l.workstation_name,
       l.logon_process_name, l.authentication_package_name, l.lm_package_name,
       l.elevated_token, l.target_linked_logon_id, l.impersonation_level, l.restricted_admin_mode,
       l.virtual_account, l.subject_user_name, l.subject_logon_id,
       l.process_id, l.process_name,
       v.record_id, v.source_path
FROM sec_logon l JOIN events_v v ON v.event_pk = l.event_pk;

CREATE VIEW logoffs AS
SELECT v.event_pk, v.time_utc, v.time_ft, v.host, v.host_short, v.event_id,
       lo.target_logon_id AS logon_id, lo.target_user_name AS user_name,
       lo.target_domain_name AS domain_name, lo.logon_type,
       v.record_id, v.source_path
FROM sec_logoff lo JOIN events_v v ON v.event_pk = lo.event_pk;

CREATE VIEW sysmon_processes AS
SELECT v.event_pk, v.time_utc, v.time_ft, v.host, v.host_short, v.event_id,
       sp.utc_time, sp.process_guid, sp.process_id AS pid, sp.image, sp.command_line,
       sp.current_directory, sp.user, sp.logon_id, sp.integrity_level, sp.hashes,
       sp.original_file_name, sp.parent_process_guid, sp.parent_process_id AS parent_pid,
       sp.parent_image, sp.parent_command_line, sp.parent_user,
       v.record_id, v.source_path
FROM sysmon_process sp JOIN events_v v ON v.event_pk = sp.event_pk;

-- Log clears, boots and logging-service shutdowns: the events that say where a log has gaps.
CREATE VIEW log_integrity AS
SELECT v.event_pk, v.time_utc, v.time_ft, v.host, v.host_short, v.channel, v.event_id,
       CASE v.event_id WHEN 1102 THEN 'audit-log-cleared' WHEN 4608 THEN 'system-started'
            WHEN 1100 THEN 'logging-service-shutdown' END AS action,
       lc.subject_user_name, lc.subject_domain_name, lc.subject_logon_id,
       v.record_id, v.source_path
FROM events_v v LEFT JOIN sec_log_cleared lc ON lc.event_pk = v.event_pk
WHERE v.channel = 'Security' AND v.event_id IN (1102, 4608, 1100);
