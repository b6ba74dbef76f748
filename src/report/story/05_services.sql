-- Services installed by the story's processes or sessions, or run as one of its processes.
SELECT i.time_ft, i.host, 'service', 'installed',
       printf('%d service %s: %s (%s, %s)', i.event_id, coalesce(i.service_name, '?'), coalesce(i.image_path, '?'),
              coalesce(i.start_type, '?'), coalesce(i.account, '?'))
       || CASE WHEN i.installer_image IS NOT NULL
               THEN printf(', installed by %s (pid %d)', replace(i.installer_image, rtrim(i.installer_image,
                           replace(i.installer_image, '\', '')), ''), i.installer_pid)
               WHEN i.installer_user IS NOT NULL THEN ', installed in the session of ' || i.installer_user ELSE '' END
       || CASE WHEN i.service_pid IS NOT NULL THEN printf(', ran as pid %d', i.service_pid) ELSE '' END,
       i.process_key, i.session_key, i.record_id, i.source_path
FROM services_installed i
WHERE i.process_key IN (SELECT process_key FROM temp.story_processes)
   OR i.session_key IN (SELECT session_key FROM temp.story_sessions WHERE role NOT IN ('ancestor session', 'shared session'))
   OR i.service_process_key IN (SELECT process_key FROM temp.story_processes)
