-- SMP schema (SQLite): one row per exchange, keyed on the sessionId sent to the NCP. The person and
-- the outcome are JSON text: always read and written whole with their exchange, never queried into.

-- One row: the store's revision (one more per committed change: an insert or a completion).
CREATE TABLE smp_state (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL CHECK (revision >= 0)
);
INSERT INTO smp_state (id, revision) VALUES (1, 0);

CREATE TABLE exchanges (
    session_id     TEXT PRIMARY KEY NOT NULL CHECK (length(session_id) BETWEEN 1 AND 128),
    sis_reference  TEXT NOT NULL,
    person         TEXT NOT NULL, -- JSON object (emrex_elmo::Person)
    ncp_acronym    TEXT NOT NULL,
    ncp_country    TEXT NOT NULL,
    ncp_url        TEXT NOT NULL,
    created_unix   INTEGER NOT NULL,
    expires_unix   INTEGER NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'completed')),
    completed_unix INTEGER,
    outcome        TEXT, -- JSON object (Outcome), once completed
    raw_response   BLOB,
    elmo_xml       BLOB,
    revision       INTEGER NOT NULL CHECK (revision > 0),
    -- A pending exchange has no completion; a completed one has its time and outcome.
    CHECK ((status = 'pending' AND completed_unix IS NULL AND outcome IS NULL)
        OR (status = 'completed' AND completed_unix IS NOT NULL AND outcome IS NOT NULL))
);
-- The SIS lists its own exchanges, newest first.
CREATE INDEX exchanges_by_sis_reference ON exchanges (sis_reference, revision);
-- Every change takes a new revision, so no two records share one.
CREATE UNIQUE INDEX exchanges_by_revision ON exchanges (revision);
