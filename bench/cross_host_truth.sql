-- Cross-host truth from Sysmon: the connection on another host whose source port and address are
-- the logon's IpPort and IpAddress (treeline's matching reads neither port).
WITH logons AS (
  SELECT s.session_key, s.host, s.start_time, s.ip_address, s.ip_port FROM sessions s
  WHERE s.kind = 'logon' AND s.logon_type IN (3, 8, 10) AND coalesce(s.ip_port, 0) > 0),
conn AS (
  SELECT h.short_name AS host, e.time, json_extract(d.data, '$.SourceIp') AS sip,
         CAST(json_extract(d.data, '$.SourcePort') AS INTEGER) AS sport, lower(json_extract(d.data, '$.ProcessGuid')) AS guid
  FROM events e JOIN channels c USING (channel_id) JOIN hosts h USING (host_id) JOIN event_data d USING (event_pk)
  WHERE e.event_id = 3 AND c.name = 'Microsoft-Windows-Sysmon/Operational'),
truth AS (
  SELECT l.session_key, (SELECT p.process_key FROM conn c JOIN processes p ON p.host = c.host AND lower(p.process_guid) = c.guid
                         WHERE c.host <> l.host AND c.sport = l.ip_port AND c.sip = l.ip_address
                           AND abs(c.time - l.start_time) < 1200000000 LIMIT 1) AS truth_key,
         (SELECT count(*) FROM conn c WHERE c.host <> l.host AND c.sport = l.ip_port AND c.sip = l.ip_address
                           AND abs(c.time - l.start_time) < 1200000000) AS conns
  FROM logons l)
SELECT count(*) AS logons_with_truth,
       sum(t.truth_key IS NOT NULL) AS truth_known,
       sum(sl.source_process_key IS NOT NULL) AS linked,
       sum(sl.source_process_key IS NOT NULL AND sl.source_process_key = t.truth_key) AS right,
       sum(sl.source_process_key IS NOT NULL AND t.truth_key IS NOT NULL AND sl.source_process_key <> t.truth_key) AS wrong,
       sum(sl.source_candidates IS NOT NULL AND t.truth_key IS NOT NULL) AS ambiguous_with_truth
FROM truth t LEFT JOIN session_links sl USING (session_key) WHERE t.conns > 0;
