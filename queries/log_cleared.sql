-- Audit log clears (1102), boots (4608) and logging shutdowns (1100): where the record has gaps
SELECT time_utc, host_short AS host, action, subject_domain_name || '\' || subject_user_name AS by_account,
       record_id, source_path
FROM log_integrity
ORDER BY time_ft, host;
