-- Hosts that logged events but no process creation (4688 or Sysmon 1): no tree can be built.
-- Columns: rule_id, title, severity, action, attack, host, time (FILETIME), detail, user.
SELECT 'coverage_no_process_auditing', 'No process creation events on this host', 'informational',
       'audit_coverage_gap', NULL, h.short_name, min(e.time),
       printf('%d events from this host, none of them a 4688 or Sysmon 1: no process tree can be built', count(*)), NULL
FROM events e JOIN hosts h USING (host_id)
GROUP BY h.short_name
HAVING sum(e.event_pk IN (SELECT event_pk FROM sec_process_create)) = 0
   AND sum(e.event_pk IN (SELECT sp.event_pk FROM sysmon_process sp JOIN events e2 ON e2.event_pk = sp.event_pk
                          WHERE e2.event_id = 1)) = 0;
