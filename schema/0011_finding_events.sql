-- 0011_finding_events.sql: the events a finding rests on. A Sigma hit names its event (both, for
-- a process logged by its 4688 and its Sysmon 1); a correlation every event it counted. Rebuilt
-- with the findings by each hunt.

CREATE TABLE finding_events (
  finding_id INTEGER NOT NULL CONSTRAINT finding_event_finding REFERENCES findings (finding_id),
  event_pk   INTEGER NOT NULL CONSTRAINT finding_event_event REFERENCES events (event_pk),
  CONSTRAINT finding_event_once PRIMARY KEY (finding_id, event_pk)
) WITHOUT ROWID;
CREATE INDEX finding_events_by_event ON finding_events (event_pk);

-- One row per finding and event, with the event's provenance as events_v gives it.
CREATE VIEW finding_events_v AS
SELECT fe.finding_id, e.*
FROM finding_events fe JOIN events_v e ON e.event_pk = fe.event_pk;

DROP VIEW findings_v;
CREATE VIEW findings_v AS
SELECT f.finding_id, f.kind, f.rule_id, f.title, f.severity, f.action, f.attack, f.log_id, f.host,
       CASE WHEN f.time IS NOT NULL THEN
         strftime('%Y-%m-%dT%H:%M:%S', (f.time - 116444736000000000) / 10000000, 'unixepoch')
         || printf('.%07dZ', (f.time - 116444736000000000) % 10000000) END AS time_utc,
       f.time AS time_ft, f.process_key, p.pid, p.image, p.command_line, f.chain, f.matched, f.detail,
       f.target_key, f.user_name, f.logon_type, f.ip_address, coalesce(f.rule_ids, f.rule_id) AS rule_ids,
       (SELECT count(*) FROM finding_events fe WHERE fe.finding_id = f.finding_id) AS event_count
FROM findings f LEFT JOIN processes p ON p.process_key = f.process_key;
