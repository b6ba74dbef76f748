-- The process chain: ancestors, the process(es) the story is about, their descendants, and
-- processes on other hosts that opened or ran in its logons.
SELECT p.start_time, p.host, 'process', sp.role,
       printf('%s %s (pid %d)', CASE p.source WHEN 'sysmon' THEN 'Sysmon 1' ELSE '4688' END,
              replace(p.image, rtrim(p.image, replace(p.image, '\', '')), ''), p.pid)
       || CASE WHEN pp.process_key IS NOT NULL
               THEN printf(' by %s (pid %d)', coalesce(replace(pp.image, rtrim(pp.image, replace(pp.image, '\', '')), ''), '?'),
                           pp.pid) ELSE '' END
       || CASE WHEN s.user_name IS NOT NULL THEN ' as ' || s.user_name ELSE '' END
       || CASE WHEN coalesce(p.command_line, '') <> '' THEN ': ' || p.command_line ELSE '' END,
       p.process_key, p.session_key, e.record_id, src.path
FROM temp.story_processes sp
JOIN processes p ON p.process_key = sp.process_key
LEFT JOIN process_edges pe ON pe.child_key = p.process_key
LEFT JOIN processes pp ON pp.process_key = pe.parent_key
LEFT JOIN logon_sessions s ON s.session_key = p.session_key
LEFT JOIN events e ON e.event_pk = coalesce(p.create_event_pk, p.sysmon_event_pk)
LEFT JOIN sources src ON src.source_id = e.source_id
WHERE p.source <> 'placeholder'
