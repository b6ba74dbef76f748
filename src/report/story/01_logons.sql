-- The logons of the story's sessions: who, which type, from where, made in which session, and
-- the process on another host that opened it.
-- Columns (every part): time_ft, host, kind, role, summary, process_key, session_key, record_id, source_path.
SELECT s.start_ft, s.host, 'logon', ss.role,
       printf('4624 type %d (%s) %s', s.logon_type, coalesce(s.logon_type_name, '?'), coalesce(s.user_name, '?'))
       || CASE WHEN coalesce(s.ip_address, '-') NOT IN ('-', '') THEN ' from ' || s.ip_address ELSE '' END
       || CASE WHEN coalesce(s.workstation_name, '-') NOT IN ('-', '') THEN ' (' || s.workstation_name || ')' ELSE '' END
       || CASE WHEN o.session_key IS NOT NULL THEN printf(', made in logon %s (type %d, %s)', o.logon_id_hex,
                                                          o.logon_type, coalesce(o.user_name, '?')) ELSE '' END
       || CASE WHEN sp.process_key IS NOT NULL
               THEN printf(', opened from %s by %s (pid %d) [%s %.2f]', s.source_host,
                           replace(sp.image, rtrim(sp.image, replace(sp.image, '\', '')), ''), sp.pid,
                           s.source_link_method, s.source_link_confidence)
               WHEN s.source_candidates IS NOT NULL
               THEN printf(', from %s: %d processes there fit, none linked', s.source_host,
                           json_array_length(s.source_candidates))
               WHEN s.source_host IS NOT NULL THEN ', from ' || s.source_host
               ELSE '' END
       || CASE WHEN s.clock_offset_seconds IS NOT NULL
               THEN printf(' (clock %+.1f s from %s)', s.clock_offset_seconds, s.source_host) ELSE '' END,
       NULL, s.session_key, e.record_id, src.path
FROM temp.story_sessions ss
JOIN logon_sessions s ON s.session_key = ss.session_key
JOIN sessions raw ON raw.session_key = s.session_key
LEFT JOIN logon_sessions o ON o.session_key = s.origin_session_key
LEFT JOIN processes sp ON sp.process_key = s.source_process_key
LEFT JOIN events e ON e.event_pk = raw.logon_event_pk
LEFT JOIN sources src ON src.source_id = e.source_id
WHERE s.kind = 'logon'
