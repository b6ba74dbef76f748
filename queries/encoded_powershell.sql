-- PowerShell started with an encoded command or a download cradle
SELECT time_utc, host_short AS host, pid, image, command_line, subject_user_name AS user
FROM process_creations
WHERE (lower(image) LIKE '%\powershell.exe' OR lower(image) LIKE '%\pwsh.exe')
  AND (lower(command_line) LIKE '% -e%' OR lower(command_line) LIKE '%frombase64string%'
       OR lower(command_line) LIKE '%downloadstring%' OR lower(command_line) LIKE '%iex%')
ORDER BY time_ft;
