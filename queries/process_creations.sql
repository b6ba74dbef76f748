-- Every process creation (Security 4688) in time order, with parent PID and logon
SELECT time_utc, host_short AS host, pid, image, parent_pid, parent_image, command_line,
       subject_user_name AS user, printf('0x%x', logon_id) AS logon_id, elevation, integrity_level
FROM process_creations
ORDER BY time_ft, host, pid;
