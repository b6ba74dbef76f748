-- 0012_execution_pid.sql: the process that wrote each event (System/Execution/@ProcessID).
-- For the PowerShell logs it is the host that ran the script, which is how a 4104 finds its
-- process; for most other channels it is a service (lsass.exe for Security). NULL where the
-- reader had none (events ingested before this schema; libevtx's reader outside the PowerShell
-- logs, whose XML it does not render).
ALTER TABLE events ADD COLUMN execution_pid INTEGER
  CONSTRAINT event_execution_pid_is_32_bit CHECK (execution_pid BETWEEN 0 AND 4294967295);

-- events_v gains execution_pid (appended: the view's contract only grows).
DROP VIEW events_v;
CREATE VIEW events_v AS
SELECT e.event_pk,
       strftime('%Y-%m-%dT%H:%M:%S', (e.time - 116444736000000000) / 10000000, 'unixepoch')
         || printf('.%07dZ', (e.time - 116444736000000000) % 10000000) AS time_utc,
       e.time AS time_ft,
       h.computer AS host,
       h.short_name AS host_short,
       c.name AS channel,
       p.name AS provider,
       e.event_id,
       e.version,
       e.record_id,
       e.file_record,
       e.recovered,
       s.path AS source_path,
       s.sha256 AS source_sha256,
       s.container AS source_container,
       s.member AS source_member,
       e.source_line,
       d.data,
       e.execution_pid
FROM events e
JOIN hosts h ON h.host_id = e.host_id
JOIN channels c ON c.channel_id = e.channel_id
LEFT JOIN providers p ON p.provider_id = e.provider_id
JOIN sources s ON s.source_id = e.source_id
LEFT JOIN event_data d ON d.event_pk = e.event_pk;
