-- Exchanges in progress at the NCP: what a client handed over, who logged in, what they may
-- send. Any replica serves any step, so this is the only copy. Rows are swept after expiry.
CREATE TABLE ncp_exchanges (
    id TEXT PRIMARY KEY NOT NULL,
    -- JSON: sessionId, returnUrl, USOS flags.
    request TEXT NOT NULL,
    -- SHA-256 of the browser's cookie secret (the secret itself is never stored).
    browser_hash BYTEA NOT NULL,
    csrf TEXT NOT NULL,
    expires_ms BIGINT NOT NULL,
    -- JSON: login (with the pending OpenID Connect state), choosing (student, results,
    -- offers), or finished.
    stage TEXT NOT NULL,
    -- Bumped on every change: the compare-and-set that lets one of two racing requests win.
    version BIGINT NOT NULL
);
CREATE INDEX ncp_exchanges_expires ON ncp_exchanges (expires_ms);
