-- 0009_event_data.sql: every event's EventData (or UserData), kept as the record had it.
-- One JSON object per record that has fields (ingest/event_data.hpp says how names, repeats and
-- unnamed <Data> map to keys). Its own table, so that the scans of events (the timeline, the
-- graph builder) do not step over it. Events ingested before this schema have none.
CREATE TABLE event_data (
  event_pk INTEGER PRIMARY KEY REFERENCES events (event_pk),
  data     TEXT NOT NULL
);

-- events_v gains data (appended: the view's contract only grows).
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
       d.data
FROM events e
JOIN hosts h ON h.host_id = e.host_id
JOIN channels c ON c.channel_id = e.channel_id
LEFT JOIN providers p ON p.provider_id = e.provider_id
JOIN sources s ON s.source_id = e.source_id
LEFT JOIN event_data d ON d.event_pk = e.event_pk;
