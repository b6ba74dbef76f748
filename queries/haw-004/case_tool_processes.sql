-- Process creations of rundll32, rdrleakdiag or hgl_loader (the case's tools)
SELECT time_utc, host_short AS host, pid, image, command_line, parent_pid, parent_image,
       subject_user_name AS user, printf('0x%x', logon_id) AS logon_id, record_id, source_path
FROM process_creations
WHERE lower(image) LIKE '%\rundll32.exe' OR lower(image) LIKE '%\rdrleakdiag.exe'
   OR lower(image) LIKE '%\hgl_loader.exe'
ORDER BY time_ft, host;
