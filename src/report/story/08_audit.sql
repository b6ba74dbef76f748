-- Log clears and audit policy changes on the story's hosts within its time span.
SELECT e.time, h.short_name, 'audit', 'on host',
       CASE WHEN e.event_id = 1102 THEN '1102 Security log cleared'
            WHEN e.event_id = 104 THEN printf('104 the %s log cleared', coalesce(json_extract(d.data, '$.Channel'), '?'))
            ELSE '4719 audit policy changed' || coalesce(': ' || json_extract(d.data, '$.SubcategoryGuid'), '') END
       || coalesce(' by ' || json_extract(d.data, '$.SubjectUserName'), ''),
       NULL, NULL, e.record_id, src.path
FROM temp.story_window w
JOIN hosts h ON h.short_name = w.host
JOIN events e ON e.host_id = h.host_id AND e.time BETWEEN w.from_ft AND w.to_ft
JOIN channels c ON c.channel_id = e.channel_id
JOIN sources src ON src.source_id = e.source_id
LEFT JOIN event_data d ON d.event_pk = e.event_pk
WHERE (e.event_id IN (1102, 4719) AND c.name = 'Security') OR (e.event_id = 104 AND c.name = 'System')
