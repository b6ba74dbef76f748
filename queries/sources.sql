-- Every ingested source with its hash and record counts (the chain of custody)
SELECT source_id, path, size, sha256, reader, status, ingested_at, records_read, records_new,
       records_duplicate, records_recovered, records_skipped
FROM sources
ORDER BY source_id;
