-- Hosts with 4688 version 0/1, which name the parent only by PID (no ParentProcessName).
-- Columns: rule_id, title, severity, action, attack, host, time (FILETIME), detail, user.
SELECT 'coverage_parent_name_missing', 'Process creations without ParentProcessName', 'informational',
       'audit_coverage_gap', NULL, h.short_name, min(e.time),
       printf('%d of %d process creations are 4688 version 0/1, which name the parent only by PID',
              sum(e.version < 2), count(*)), NULL
FROM sec_process_create pc JOIN events e USING (event_pk) JOIN hosts h USING (host_id)
GROUP BY h.short_name HAVING sum(e.version < 2) > 0;
