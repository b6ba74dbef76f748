-- cmd.exe running hgl_run.cmd, with what it started
SELECT c.start_time, c.host, c.pid, c.command_line, k.pid AS child_pid, k.image AS child_image,
       k.command_line AS child_command_line
FROM process_tree c LEFT JOIN process_tree k ON k.parent_key = c.process_key
WHERE lower(c.image) LIKE '%\cmd.exe' AND lower(c.command_line) LIKE '%hgl_run.cmd%'
ORDER BY c.start_ft, k.start_ft;
