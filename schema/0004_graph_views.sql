-- 0004_graph_views.sql: the public views of the process graph. A contract, like 0002.

-- One row per process (placeholders included), with its parent link and logon session.
CREATE VIEW process_tree AS
SELECT p.process_key,
       p.host,
       p.boot,
       p.pid,
       printf('0x%x', p.pid) AS pid_hex,
       p.image,
       p.command_line,
       CASE WHEN p.start_time IS NOT NULL THEN
         strftime('%Y-%m-%dT%H:%M:%S', (p.start_time - 116444736000000000) / 10000000, 'unixepoch')
         || printf('.%07dZ', (p.start_time - 116444736000000000) % 10000000) END AS start_time,
       CASE WHEN p.end_time IS NOT NULL THEN
         strftime('%Y-%m-%dT%H:%M:%S', (p.end_time - 116444736000000000) / 10000000, 'unixepoch')
         || printf('.%07dZ', (p.end_time - 116444736000000000) % 10000000) END AS end_time,
       p.start_time AS start_ft,
       p.end_time AS end_ft,
       coalesce(p.user_domain || '\' || p.user_name, p.user_name, s.user_domain || '\' || s.user_name) AS user_name,
       p.logon_id,
       printf('0x%x', p.logon_id) AS logon_id_hex,
       p.integrity_level,
       CASE p.token_elevation WHEN '%%1936' THEN 'default' WHEN '%%1937' THEN 'full'
            WHEN '%%1938' THEN 'limited' END AS elevation,
       p.source,
       p.process_guid,
       e.parent_key,
       pp.pid AS parent_pid,
       pp.image AS parent_image,
       e.method AS link_method,
       e.candidates AS link_candidates,
       e.confidence AS link_confidence,
       e.orphan_reason,
       p.session_key,
       s.logon_type,
       s.ip_address,
       s.workstation_name,
       p.parent_command_line,
       p.hashes,
       p.original_file_name,
       p.create_event_pk,
       p.sysmon_event_pk
FROM processes p
LEFT JOIN process_edges e ON e.child_key = p.process_key
LEFT JOIN processes pp ON pp.process_key = e.parent_key
LEFT JOIN sessions s ON s.session_key = p.session_key;

-- One row per logon session, with how many processes ran in it.
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
       (SELECT count(*) FROM processes p WHERE p.session_key = s.session_key) AS process_count
FROM sessions s;
