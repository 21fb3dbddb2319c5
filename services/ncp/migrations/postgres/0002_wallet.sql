-- Wallet issuance (OpenID4VCI 1.0, pre-authorized code flow): offers made after consent, the
-- access tokens and c_nonces the wallet obtains. Only SHA-256 hashes of the secrets are stored.
-- Any replica serves any step; every row is deleted once expired (swept with the exchanges).
CREATE TABLE ncp_wallet_offers (
    -- SHA-256 of the pre-authorized code.
    code_hash BYTEA PRIMARY KEY NOT NULL,
    -- SHA-256 of the pre-authorized code followed by the transaction code (a 6-digit code
    -- alone would be trivially reversed from its hash).
    tx_hash BYTEA NOT NULL,
    -- JSON: the claims to issue (the ELM credential of the consented results); emptied once issued.
    claims TEXT NOT NULL,
    expires_ms BIGINT NOT NULL,
    -- Wrong transaction codes so far; at the limit the offer is dead.
    tries BIGINT NOT NULL,
    -- offered, redeemed (a token was issued), issued, dead.
    state TEXT NOT NULL
);
CREATE INDEX ncp_wallet_offers_expires ON ncp_wallet_offers (expires_ms);
CREATE TABLE ncp_wallet_tokens (
    -- SHA-256 of the access token.
    token_hash BYTEA PRIMARY KEY NOT NULL,
    offer_hash BYTEA NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX ncp_wallet_tokens_expires ON ncp_wallet_tokens (expires_ms);
CREATE TABLE ncp_wallet_nonces (
    -- SHA-256 of the c_nonce; deleted when used.
    nonce_hash BYTEA PRIMARY KEY NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX ncp_wallet_nonces_expires ON ncp_wallet_nonces (expires_ms);
