-- Records of the normalized actions: every detection with its process and source record
SELECT f.action, f.severity, f.attack, f.time_utc, f.host, f.pid, f.image, f.command_line, f.detail,
       e.record_id, e.source_path
FROM findings_v f
LEFT JOIN processes p ON p.process_key = f.process_key
LEFT JOIN events_v e ON e.event_pk = coalesce(p.create_event_pk, p.sysmon_event_pk)
WHERE f.kind = 'detection'
ORDER BY f.action, f.time_ft, f.host;
