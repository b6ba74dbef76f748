-- Hosts whose 4688s have no CommandLine: command-line auditing is off, so no rule on a command
-- line can fire there.
-- Columns: rule_id, title, severity, action, attack, host, time (FILETIME), detail, user.
SELECT 'coverage_command_line_missing', 'Process creations without a command line', 'informational',
       'audit_coverage_gap', NULL, h.short_name, min(e.time),
       printf('%d of %d process creations (4688) have no CommandLine: command-line auditing is off',
              sum(coalesce(pc.command_line, '') = ''), count(*)), NULL
FROM sec_process_create pc JOIN events e USING (event_pk) JOIN hosts h USING (host_id)
GROUP BY h.short_name HAVING sum(coalesce(pc.command_line, '') = '') > 0;
