-- EMREG schema (PostgreSQL). Lists (institutions, certificates, metadata) are JSON text: they are
-- always read and written whole with their entry, and never queried into.

-- One row: the registry's revision (one more per committed change), the generation the last
-- ReplaceAll recorded, and when the registry last changed. Writers lock this row first, which
-- serialises them and makes revision order equal commit order.
CREATE TABLE registry_state (
    id           SMALLINT PRIMARY KEY CHECK (id = 1),
    revision     BIGINT NOT NULL CHECK (revision >= 0),
    generation   BIGINT NOT NULL CHECK (generation >= 0),
    updated_unix BIGINT NOT NULL
);
INSERT INTO registry_state (id, revision, generation, updated_unix) VALUES (1, 0, 0, 0);

CREATE TABLE entries (
    acronym           TEXT PRIMARY KEY,
    country_code      TEXT NOT NULL,
    url               TEXT NOT NULL,
    institutions      TEXT NOT NULL, -- JSON array of strings
    certificates      TEXT NOT NULL, -- JSON array of PEM strings
    legacy_algorithms BOOLEAN NOT NULL,
    metadata          TEXT NOT NULL, -- JSON object of strings
    revision          BIGINT NOT NULL,
    updated_unix      BIGINT NOT NULL
);
CREATE INDEX entries_by_country ON entries (country_code, acronym);

CREATE TABLE countries (
    country_code TEXT PRIMARY KEY,
    country_name TEXT NOT NULL,
    single_fetch BOOLEAN NOT NULL,
    revision     BIGINT NOT NULL,
    updated_unix BIGINT NOT NULL
);

-- The change log Watch resumes from: one row per revision, the newest ones kept.
CREATE TABLE changes (
    revision     BIGINT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('upserted', 'deleted', 'country', 'replaced')),
    payload      TEXT NOT NULL, -- JSON of the change
    created_unix BIGINT NOT NULL
);
