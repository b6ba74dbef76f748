-- 0010_source_paths.sql: every path an ingest met, for the chain of custody. A file whose bytes
-- are already in the case is not read again, but where it was, how large and when it was seen
-- are kept here, beside the path that was read.

CREATE TABLE source_paths (
  path_id   INTEGER PRIMARY KEY,
  source_id INTEGER NOT NULL REFERENCES sources (source_id),  -- the source holding these bytes
  path      TEXT NOT NULL,
  container TEXT NOT NULL DEFAULT '',  -- the archive, for a member ('' for a file)
  member    TEXT NOT NULL DEFAULT '',
  size      INTEGER CONSTRAINT source_path_size_not_negative CHECK (size IS NULL OR size >= 0),
  seen_at   TEXT NOT NULL,             -- ISO 8601 UTC, the first time this path was met
  how       TEXT NOT NULL CONSTRAINT source_path_how_known CHECK (how IN ('read', 'same_bytes')),
  CONSTRAINT source_path_once UNIQUE (source_id, path, container, member)
);

-- The sources ingested before this schema: each was read from its own path.
INSERT INTO source_paths (source_id, path, container, member, size, seen_at, how)
SELECT source_id, path, coalesce(container, ''), coalesce(member, ''), size, ingested_at, 'read' FROM sources;

CREATE VIEW source_paths_v AS
SELECT sp.path, nullif(sp.container, '') AS container, nullif(sp.member, '') AS member, sp.size, sp.seen_at,
       sp.how, s.path AS read_as, s.sha256, s.status
FROM source_paths sp JOIN sources s ON s.source_id = sp.source_id;
