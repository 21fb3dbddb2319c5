-- EMREG schema (SQLite). Lists (institutions, certificates, metadata) are JSON text: they are
-- always read and written whole with their entry, and never queried into.

-- One row: the registry's revision (one more per committed change), the generation the last
-- ReplaceAll recorded, and when the registry last changed.
CREATE TABLE registry_state (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    revision     INTEGER NOT NULL CHECK (revision >= 0),
    generation   INTEGER NOT NULL CHECK (generation >= 0),
    updated_unix INTEGER NOT NULL
);
INSERT INTO registry_state (id, revision, generation, updated_unix) VALUES (1, 0, 0, 0);

CREATE TABLE entries (
    acronym           TEXT PRIMARY KEY NOT NULL,
    country_code      TEXT NOT NULL,
    url               TEXT NOT NULL,
    institutions      TEXT NOT NULL, -- JSON array of strings
    certificates      TEXT NOT NULL, -- JSON array of PEM strings
    legacy_algorithms INTEGER NOT NULL CHECK (legacy_algorithms IN (0, 1)),
    metadata          TEXT NOT NULL, -- JSON object of strings
    revision          INTEGER NOT NULL,
    updated_unix      INTEGER NOT NULL
);
CREATE INDEX entries_by_country ON entries (country_code, acronym);

CREATE TABLE countries (
    country_code TEXT PRIMARY KEY NOT NULL,
    country_name TEXT NOT NULL,
    single_fetch INTEGER NOT NULL CHECK (single_fetch IN (0, 1)),
    revision     INTEGER NOT NULL,
    updated_unix INTEGER NOT NULL
);

-- The change log Watch resumes from: one row per revision, the newest ones kept.
CREATE TABLE changes (
    revision     INTEGER PRIMARY KEY NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('upserted', 'deleted', 'country', 'replaced')),
    payload      TEXT NOT NULL, -- JSON of the change
    created_unix INTEGER NOT NULL
);
