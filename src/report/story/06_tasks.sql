-- Scheduled tasks registered or changed by the story's processes or sessions, or run as one of its processes.
SELECT t.time_ft, t.host, 'task', t.change,
       printf('%d task %s %s: %s%s', t.event_id, coalesce(t.task_name, '?'), t.change, coalesce(t.command, '?'),
              CASE WHEN coalesce(t.arguments, '') <> '' THEN ' ' || t.arguments ELSE '' END)
       || CASE WHEN t.triggers IS NOT NULL THEN ' [' || t.triggers || ']' ELSE '' END
       || CASE WHEN t.run_as IS NOT NULL THEN ' as ' || t.run_as ELSE '' END
       || CASE WHEN t.creator_image IS NOT NULL
               THEN printf(', by %s (pid %d)', replace(t.creator_image, rtrim(t.creator_image,
                           replace(t.creator_image, '\', '')), ''), t.creator_pid) ELSE '' END
       || CASE WHEN t.runs > 0 THEN printf(', ran %d time(s)', t.runs) ELSE '' END,
       t.process_key, t.session_key, t.record_id, t.source_path
FROM scheduled_tasks t
WHERE t.process_key IN (SELECT process_key FROM temp.story_processes)
   OR t.session_key IN (SELECT session_key FROM temp.story_sessions WHERE role NOT IN ('ancestor session', 'shared session'))
   OR t.event_pk IN (SELECT r.event_pk FROM scheduled_task_runs r JOIN temp.story_processes sp USING (process_key))
