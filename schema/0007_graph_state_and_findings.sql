-- 0007_graph_state.sql: whether the process graph matches the events, and the indexes that
-- let the timeline find each event's process without scanning the processes.

-- One row, written by the graph builder in the transaction that writes the graph: the events
-- it was built from. The graph is current while the case holds exactly these events; after
-- `ingest --no-graph` or an interrupted ingest it is not, and the verbs that read it say so.
CREATE TABLE graph_state (
  id            INTEGER PRIMARY KEY CONSTRAINT graph_state_is_one_row CHECK (id = 1),
  events_max_pk INTEGER NOT NULL CONSTRAINT graph_state_max_pk_not_negative CHECK (events_max_pk >= 0),
  events_count  INTEGER NOT NULL CONSTRAINT graph_state_count_not_negative CHECK (events_count >= 0),
  built_at      TEXT NOT NULL     -- ISO 8601 UTC
);

-- A case whose graph was built before this file existed: an empty case is current; any other
-- is marked built from no events, so the verbs ask for one rebuild.
INSERT INTO graph_state (id, events_max_pk, events_count, built_at)
SELECT 1, 0, 0, strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE NOT EXISTS (SELECT 1 FROM events);

CREATE INDEX processes_by_create_event ON processes (create_event_pk);
CREATE INDEX processes_by_sysmon_event ON processes (sysmon_event_pk);
CREATE INDEX processes_by_exit_event ON processes (exit_event_pk);
-- The timeline reads events in time order; ties on one instant are all that is left to sort.
CREATE INDEX events_by_time ON events (time);

-- One finding per process and action: every rule that matched it, highest severity first
-- (rule_id is the first of them).
ALTER TABLE findings ADD COLUMN rule_ids TEXT;
DROP VIEW findings_v;
CREATE VIEW findings_v AS
SELECT f.finding_id, f.kind, f.rule_id, f.title, f.severity, f.action, f.attack, f.log_id, f.host,
       CASE WHEN f.time IS NOT NULL THEN
         strftime('%Y-%m-%dT%H:%M:%S', (f.time - 116444736000000000) / 10000000, 'unixepoch')
         || printf('.%07dZ', (f.time - 116444736000000000) % 10000000) END AS time_utc,
       f.time AS time_ft, f.process_key, p.pid, p.image, p.command_line, f.chain, f.matched, f.detail,
       f.target_key, f.user_name, f.logon_type, f.ip_address, coalesce(f.rule_ids, f.rule_id) AS rule_ids
FROM findings f LEFT JOIN processes p ON p.process_key = f.process_key;
