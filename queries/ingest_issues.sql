-- What could not be read, per source file: skipped records and warnings
SELECT s.path, i.location, i.severity, i.reason
FROM ingest_issues i JOIN sources s ON s.source_id = i.source_id
ORDER BY s.path, i.rowid;
