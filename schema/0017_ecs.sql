-- 0017_ecs.sql: the case as Elastic Common Schema documents, one view per kind and one over all
-- (`ecs`), with ECS's dotted field names as column names. `treeline export --format ecs` writes
-- these rows as documents, and `treeline query --kql` runs over `ecs`. Columns starting with `_`
-- are treeline's (the event data behind winlog.event_data.*, the FILETIME, the key), not ECS.
-- Winlogbeat's winlog.* layout: channel, record_id, computer_name, event_id, provider_name,
-- version, process.pid (the Execution ProcessID), logon.id, event_data.

-- Every event. There is no Windows message DLL here: `message` is the event's own fields, in
-- order, as "Name=value" pairs after its provider and id.
CREATE VIEW ecs_events AS
SELECT 'event' AS "treeline.document",
       strftime('%Y-%m-%dT%H:%M:%S', (e.time - 116444736000000000) / 10000000, 'unixepoch')
         || printf('.%07dZ', (e.time - 116444736000000000) % 10000000) AS "@timestamp",
       'event' AS "event.kind",
       CAST(e.event_id AS TEXT) AS "event.code",
       p.name AS "event.provider",
       NULL AS "event.action",
       c.name AS "winlog.channel",
       CASE WHEN e.record_id >= 0 THEN CAST(e.record_id AS TEXT) END AS "winlog.record_id",
       h.computer AS "winlog.computer_name",
       CAST(e.event_id AS TEXT) AS "winlog.event_id",
       p.name AS "winlog.provider_name",
       e.version AS "winlog.version",
       e.execution_pid AS "winlog.process.pid",
       h.computer AS "host.name",
       coalesce(p.name, c.name) || ' ' || e.event_id
         || coalesce(': ' || (SELECT group_concat(j.key || '=' || coalesce(j.value, ''), ', ') FROM json_each(d.data) j), '')
         AS "message",
       pr.process_key AS "process.entity_id",
       pr.pid AS "process.pid",
       pr.image AS "process.executable",
       replace(pr.image, rtrim(pr.image, replace(pr.image, '\', '')), '') AS "process.name",
       pr.command_line AS "process.command_line",
       pp.process_key AS "process.parent.entity_id",
       pp.pid AS "process.parent.pid",
       pp.image AS "process.parent.executable",
       replace(pp.image, rtrim(pp.image, replace(pp.image, '\', '')), '') AS "process.parent.name",
       NULL AS "process.start",
       NULL AS "process.end",
       pr.user_name AS "user.name",
       pr.user_domain AS "user.domain",
       CASE WHEN pr.logon_id IS NOT NULL THEN printf('0x%x', pr.logon_id) END AS "winlog.logon.id",
       NULL AS "rule.id",
       NULL AS "rule.name",
       NULL AS "threat.technique.id",
       NULL AS "log.id",
       NULL AS "treeline.severity",
       NULL AS "treeline.link_method",
       NULL AS "treeline.link_confidence",
       CASE WHEN e.record_id < 0 THEN e.record_id END AS "treeline.record_id",  -- the export had none: treeline's stand-in
       d.data AS "_data",
       e.time AS "_time_ft",
       e.event_pk AS "_key"
FROM events e
JOIN hosts h ON h.host_id = e.host_id
JOIN channels c ON c.channel_id = e.channel_id
LEFT JOIN providers p ON p.provider_id = e.provider_id
LEFT JOIN event_data d ON d.event_pk = e.event_pk
LEFT JOIN event_processes ep ON ep.event_pk = e.event_pk
LEFT JOIN processes pr ON pr.process_id = ep.process_id
LEFT JOIN processes pp ON pp.process_id = ep.parent_id;

-- Every logged process (placeholders have no start and are not observations), with its parent
-- link's method and confidence.
CREATE VIEW ecs_processes AS
SELECT 'process' AS "treeline.document",
       strftime('%Y-%m-%dT%H:%M:%S', (pr.start_time - 116444736000000000) / 10000000, 'unixepoch')
         || printf('.%07dZ', (pr.start_time - 116444736000000000) % 10000000) AS "@timestamp",
       'state' AS "event.kind",
       NULL AS "event.code", NULL AS "event.provider", NULL AS "event.action", NULL AS "winlog.channel",
       NULL AS "winlog.record_id", NULL AS "winlog.computer_name", NULL AS "winlog.event_id",
       NULL AS "winlog.provider_name", NULL AS "winlog.version", NULL AS "winlog.process.pid",
       (SELECT min(hh.computer) FROM hosts hh WHERE hh.short_name = pr.host) AS "host.name",
       printf('process %s (pid %d)', coalesce(pr.command_line, pr.image, '?'), pr.pid) AS "message",
       pr.process_key AS "process.entity_id",
       pr.pid AS "process.pid",
       pr.image AS "process.executable",
       replace(pr.image, rtrim(pr.image, replace(pr.image, '\', '')), '') AS "process.name",
       pr.command_line AS "process.command_line",
       pp.process_key AS "process.parent.entity_id",
       pp.pid AS "process.parent.pid",
       pp.image AS "process.parent.executable",
       replace(pp.image, rtrim(pp.image, replace(pp.image, '\', '')), '') AS "process.parent.name",
       strftime('%Y-%m-%dT%H:%M:%S', (pr.start_time - 116444736000000000) / 10000000, 'unixepoch')
         || printf('.%07dZ', (pr.start_time - 116444736000000000) % 10000000) AS "process.start",
       CASE WHEN pr.end_time IS NOT NULL THEN
         strftime('%Y-%m-%dT%H:%M:%S', (pr.end_time - 116444736000000000) / 10000000, 'unixepoch')
         || printf('.%07dZ', (pr.end_time - 116444736000000000) % 10000000) END AS "process.end",
       pr.user_name AS "user.name",
       pr.user_domain AS "user.domain",
       CASE WHEN pr.logon_id IS NOT NULL THEN printf('0x%x', pr.logon_id) END AS "winlog.logon.id",
       NULL AS "rule.id", NULL AS "rule.name", NULL AS "threat.technique.id", NULL AS "log.id",
       NULL AS "treeline.severity",
       pe.method AS "treeline.link_method",
       pe.confidence AS "treeline.link_confidence",
       NULL AS "treeline.record_id",
       NULL AS "_data",
       pr.start_time AS "_time_ft",
       pr.process_id AS "_key"
FROM processes pr
LEFT JOIN process_edges pe ON pe.child_key = pr.process_key
LEFT JOIN processes pp ON pp.process_key = pe.parent_key
WHERE pr.source <> 'placeholder' AND pr.start_time IS NOT NULL;

-- Every finding of the last hunt: an alert with its normalized action, rule, ATT&CK ids (comma
-- separated here; an array in the export) and log card.
CREATE VIEW ecs_findings AS
SELECT 'finding' AS "treeline.document",
       CASE WHEN f.time IS NOT NULL THEN
         strftime('%Y-%m-%dT%H:%M:%S', (f.time - 116444736000000000) / 10000000, 'unixepoch')
         || printf('.%07dZ', (f.time - 116444736000000000) % 10000000) END AS "@timestamp",
       'alert' AS "event.kind",
       NULL AS "event.code", NULL AS "event.provider",
       f.action AS "event.action",
       NULL AS "winlog.channel", NULL AS "winlog.record_id", NULL AS "winlog.computer_name", NULL AS "winlog.event_id",
       NULL AS "winlog.provider_name", NULL AS "winlog.version", NULL AS "winlog.process.pid",
       (SELECT min(hh.computer) FROM hosts hh WHERE hh.short_name = f.host) AS "host.name",
       f.title || coalesce(': ' || nullif(f.detail, ''), '') AS "message",
       f.process_key AS "process.entity_id",
       pr.pid AS "process.pid",
       pr.image AS "process.executable",
       replace(pr.image, rtrim(pr.image, replace(pr.image, '\', '')), '') AS "process.name",
       pr.command_line AS "process.command_line",
       NULL AS "process.parent.entity_id", NULL AS "process.parent.pid", NULL AS "process.parent.executable",
       NULL AS "process.parent.name", NULL AS "process.start", NULL AS "process.end",
       pr.user_name AS "user.name",
       pr.user_domain AS "user.domain",
       CASE WHEN pr.logon_id IS NOT NULL THEN printf('0x%x', pr.logon_id) END AS "winlog.logon.id",
       f.rule_id AS "rule.id",
       f.title AS "rule.name",
       f.attack AS "threat.technique.id",
       f.log_id AS "log.id",
       f.severity AS "treeline.severity",
       NULL AS "treeline.link_method", NULL AS "treeline.link_confidence",
       NULL AS "treeline.record_id",
       NULL AS "_data",
       f.time AS "_time_ft",
       f.finding_id AS "_key"
FROM findings f
LEFT JOIN processes pr ON pr.process_key = f.process_key;

CREATE VIEW ecs AS
SELECT * FROM ecs_events
UNION ALL SELECT * FROM ecs_processes
UNION ALL SELECT * FROM ecs_findings;
