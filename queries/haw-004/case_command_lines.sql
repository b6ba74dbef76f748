-- Command lines naming comsvcs.dll, MiniDump, rdrleakdiag, hgl_loader or hgl_payload
SELECT time_utc, host_short AS host, pid, image, command_line, parent_image,
       subject_user_name AS user, record_id, source_path
FROM process_creations
WHERE lower(command_line) LIKE '%comsvcs.dll%' OR lower(command_line) LIKE '%minidump%'
   OR lower(command_line) LIKE '%rdrleakdiag%' OR lower(command_line) LIKE '%hgl_loader%'
   OR lower(command_line) LIKE '%hgl_payload%'
ORDER BY time_ft, host;
