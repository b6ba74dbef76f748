-- Explicit credentials (4648) the story's processes or sessions used.
SELECT x.time_ft, x.host, 'explicit_logon', 'used',
       printf('4648 %s used the credentials of %s for %s', coalesce(x.subject_user, '?'), coalesce(x.target_user, '?'),
              coalesce(x.target_server_name, '?'))
       || CASE WHEN x.image IS NOT NULL THEN printf(', by %s (pid %d)', replace(x.image, rtrim(x.image,
                    replace(x.image, '\', '')), ''), x.pid) ELSE '' END,
       x.process_key, x.session_key, x.record_id, x.source_path
FROM explicit_logons x
WHERE x.process_key IN (SELECT process_key FROM temp.story_processes)
   OR x.session_key IN (SELECT session_key FROM temp.story_sessions WHERE role NOT IN ('ancestor session', 'shared session'))
