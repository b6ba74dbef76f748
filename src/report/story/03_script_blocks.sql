-- The script blocks the story's PowerShell processes ran (their text; the story shows its first lines).
SELECT b.time_ft, b.host, 'script_block', sp.role,
       printf('4104 script block%s%s by pid %d', CASE WHEN b.parts_total > 1 THEN printf(' (%d of %d parts)', b.parts_seen,
              b.parts_total) ELSE '' END, CASE WHEN b.path IS NOT NULL THEN ' from ' || b.path ELSE '' END, b.pid)
       || char(10) || b.text,
       b.process_key, b.session_key, b.record_id, b.source_path
FROM temp.story_processes sp
JOIN script_blocks b ON b.process_key = sp.process_key
