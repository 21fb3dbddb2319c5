-- An NCP that also issues the results into wallets names its OpenID4VCI credential issuer
-- identifier; empty for every other entry (and for every entry written before this migration).
ALTER TABLE entries ADD COLUMN credential_issuer TEXT NOT NULL DEFAULT '';
