-- Each Security log clear (1102): everything before it in that log is gone.
-- Columns: rule_id, title, severity, action, attack, host, time (FILETIME), detail, user.
SELECT 'coverage_log_cleared', 'Security log cleared', 'medium', 'audit_log_cleared', 'T1070.001',
       h.short_name, e.time, printf('1102 by %s\%s (logon 0x%x): everything before it in this log is gone',
       lc.subject_domain_name, lc.subject_user_name, lc.subject_logon_id),
       lc.subject_domain_name || '\' || lc.subject_user_name
FROM sec_log_cleared lc JOIN events e USING (event_pk) JOIN hosts h USING (host_id);
