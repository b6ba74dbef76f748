-- 0006_inputs.sql: provenance for JSON and XML inputs.

-- The line (JSON lines, XML) or element (JSON array) number of the record in its source.
ALTER TABLE events ADD COLUMN source_line INTEGER;

-- events_v gains source_line (appended: the view's contract only grows).
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
       e.source_line
FROM events e
JOIN hosts h ON h.host_id = e.host_id
JOIN channels c ON c.channel_id = e.channel_id
LEFT JOIN providers p ON p.provider_id = e.provider_id
JOIN sources s ON s.source_id = e.source_id;
