-- Windows PowerShell engines the story's processes started (400), with the host's command line.
SELECT w.time_ft, w.host, 'powershell', sp.role,
       printf('400 PowerShell engine started in pid %d: %s', w.pid, coalesce(w.host_application, '?')),
       w.process_key, w.session_key, w.record_id, w.source_path
FROM temp.story_processes sp
JOIN powershell_events w ON w.process_key = sp.process_key
WHERE w.event_id = 400
