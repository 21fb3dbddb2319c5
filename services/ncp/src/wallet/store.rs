//! Offers, access tokens and c_nonces of the wallet issuance, in the NCP's own database (the
//! tables of migration `0002_wallet`), so any replica serves any step like the exchanges.
//!
//! Only SHA-256 hashes of the secrets are stored: the pre-authorized code, the transaction code
//! (hashed together with the pre-authorized code, because six digits alone are reversed from a
//! hash in a millisecond), the access token and the c_nonce. Every state change is a single
//! conditional `UPDATE`/`DELETE`, so of two racing requests (two replicas, a wallet retrying)
//! exactly one wins: a pre-authorized code buys one token, a nonce is used once, an offer gives
//! one credential.

use std::time::Duration;

use emrex_store::Database;
use serde_json::Value;
use sqlx::Row as _;

use crate::exchange::{StoreError, now_ms, on_pool, random_token, sha256};

/// Wrong transaction codes an offer survives; the next wrong one kills it (a wallet user
/// mistyping twice or thrice is normal; 10⁶ codes cannot be guessed in five tries).
pub const MAX_TX_TRIES: i64 = 5;

/// Lifetime of an access token (the wallet uses it within seconds of getting it).
pub const TOKEN_TTL: Duration = Duration::from_secs(5 * 60);

/// Lifetime of a c_nonce (a proof is made right after fetching it).
pub const NONCE_TTL: Duration = Duration::from_secs(5 * 60);

/// Most live c_nonces. The nonce endpoint is unauthenticated (OpenID4VCI 1.0 §7), so without a
/// bound anyone could fill the table; a wallet uses its nonce within seconds, so this is far
/// above any real load (and about 10 MB of rows).
pub const MAX_LIVE_NONCES: i64 = 100_000;

/// A new offer: the secrets the student's wallet needs (shown once, never stored).
#[derive(Debug, Clone)]
pub struct NewOffer {
    pub pre_authorized_code: String,
    /// Six digits.
    pub tx_code: String,
    /// Milliseconds since the epoch.
    pub expires_ms: i64,
}

/// Why the token endpoint refuses a pre-authorized code (all are `invalid_grant` on the wire;
/// the distinction is for logs and metrics).
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error("unknown pre-authorized code")]
    Unknown,
    #[error("the offer has expired")]
    Expired,
    #[error("the pre-authorized code was already used")]
    Used,
    #[error("wrong transaction code")]
    WrongTxCode,
    #[error("too many wrong transaction codes: the offer is dead")]
    LockedOut,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl GrantError {
    /// The metrics label.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Unknown => "unknown_code",
            Self::Expired => "expired",
            Self::Used => "replay",
            Self::WrongTxCode => "wrong_tx_code",
            Self::LockedOut => "locked_out",
            Self::Store(_) => "store",
        }
    }
}

impl From<sqlx::Error> for GrantError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(e))
    }
}

/// What an access token gives access to.
#[derive(Debug, Clone)]
pub struct Grant {
    offer_hash: Vec<u8>,
    /// The claims to issue.
    pub claims: Value,
}

/// The wallet issuance's rows.
#[derive(Debug, Clone)]
pub struct WalletStore {
    db: Database,
    max_nonces: i64,
}

const INSERT_OFFER: &str = "INSERT INTO ncp_wallet_offers \
     (code_hash, tx_hash, claims, expires_ms, tries, state) VALUES ($1, $2, $3, $4, 0, 'offered')";
const SELECT_OFFER: &str =
    "SELECT tx_hash, expires_ms, tries, state FROM ncp_wallet_offers WHERE code_hash = $1";
const COUNT_TRY: &str = "UPDATE ncp_wallet_offers SET tries = tries + 1, \
     state = CASE WHEN tries + 1 >= $2 THEN 'dead' ELSE state END \
     WHERE code_hash = $1 AND state = 'offered'";
const REDEEM: &str = "UPDATE ncp_wallet_offers SET state = 'redeemed' \
     WHERE code_hash = $1 AND state = 'offered' AND expires_ms > $2";
const INSERT_TOKEN: &str =
    "INSERT INTO ncp_wallet_tokens (token_hash, offer_hash, expires_ms) VALUES ($1, $2, $3)";
const SELECT_GRANT: &str = "SELECT o.code_hash, o.claims FROM ncp_wallet_tokens t \
     JOIN ncp_wallet_offers o ON o.code_hash = t.offer_hash \
     WHERE t.token_hash = $1 AND t.expires_ms > $2 AND o.state = 'redeemed'";
const ISSUED: &str = "UPDATE ncp_wallet_offers SET state = 'issued', claims = '{}' \
     WHERE code_hash = $1 AND state = 'redeemed'";
const DELETE_TOKENS_OF: &str = "DELETE FROM ncp_wallet_tokens WHERE offer_hash = $1";
const INSERT_NONCE: &str = "INSERT INTO ncp_wallet_nonces (nonce_hash, expires_ms) VALUES ($1, $2)";
const COUNT_NONCES: &str = "SELECT COUNT(*) AS n FROM ncp_wallet_nonces WHERE expires_ms > $1";
const TAKE_NONCE: &str = "DELETE FROM ncp_wallet_nonces WHERE nonce_hash = $1 AND expires_ms > $2";
const SWEEP_OFFERS: &str = "DELETE FROM ncp_wallet_offers WHERE expires_ms <= $1";
const SWEEP_TOKENS: &str = "DELETE FROM ncp_wallet_tokens WHERE expires_ms <= $1";
const SWEEP_NONCES: &str = "DELETE FROM ncp_wallet_nonces WHERE expires_ms <= $1";

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn tx_hash(code: &str, tx_code: &str) -> [u8; 32] {
    sha256(format!("{code}\n{tx_code}").as_bytes())
}

/// Six uniformly random digits.
fn six_digits() -> String {
    loop {
        let t = random_bytes::<4>();
        let n = u32::from_be_bytes(t);
        // Rejection sampling: the largest multiple of 10⁶ below 2³² keeps every code equally likely.
        if n < 4_294_000_000 {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // As `random_token`: a failing system RNG must not yield guessable codes.
    #[allow(clippy::expect_used)]
    aws_lc_rs::rand::fill(&mut b).expect("system random number generator");
    b
}

impl WalletStore {
    /// The wallet tables of `db` (the NCP's database; the migration created them).
    pub fn new(db: Database) -> Self {
        Self {
            db,
            max_nonces: MAX_LIVE_NONCES,
        }
    }

    /// The same with another bound on live nonces (tests).
    pub fn with_max_nonces(mut self, max: i64) -> Self {
        self.max_nonces = max;
        self
    }

    /// Stores an offer of `claims` for `ttl` and returns its secrets.
    pub async fn create_offer(
        &self,
        claims: &Value,
        ttl: Duration,
    ) -> Result<NewOffer, StoreError> {
        let code = random_token(32);
        let tx_code = six_digits();
        let expires_ms = now_ms().saturating_add(ms(ttl));
        let json = serde_json::to_string(claims).map_err(StoreError::Encode)?;
        on_pool!(&self.db, pool => {
            sqlx::query(INSERT_OFFER)
                .bind(sha256(code.as_bytes()).to_vec())
                .bind(tx_hash(&code, &tx_code).to_vec())
                .bind(json)
                .bind(expires_ms)
                .execute(pool)
                .await?;
        });
        Ok(NewOffer {
            pre_authorized_code: code,
            tx_code,
            expires_ms,
        })
    }

    /// The token endpoint: exchanges a pre-authorized code and its transaction code for an
    /// access token (once). A wrong transaction code counts against the offer.
    pub async fn redeem(&self, code: &str, tx_code: &str) -> Result<String, GrantError> {
        let now = now_ms();
        let code_hash = sha256(code.as_bytes()).to_vec();
        let row = on_pool!(&self.db, pool => {
            match sqlx::query(SELECT_OFFER).bind(code_hash.clone()).fetch_optional(pool).await? {
                None => None,
                Some(r) => Some((
                    r.try_get::<Vec<u8>, _>("tx_hash")?,
                    r.try_get::<i64, _>("expires_ms")?,
                    r.try_get::<i64, _>("tries")?,
                    r.try_get::<String, _>("state")?,
                )),
            }
        });
        let Some((stored_tx, expires_ms, _tries, state)) = row else {
            return Err(GrantError::Unknown);
        };
        if expires_ms <= now {
            return Err(GrantError::Expired);
        }
        match state.as_str() {
            "offered" => {}
            "dead" => return Err(GrantError::LockedOut),
            _ => return Err(GrantError::Used),
        }
        let given = tx_hash(code, tx_code);
        if aws_lc_rs::constant_time::verify_slices_are_equal(&given, &stored_tx).is_err() {
            on_pool!(&self.db, pool => {
                sqlx::query(COUNT_TRY)
                    .bind(code_hash.clone())
                    .bind(MAX_TX_TRIES)
                    .execute(pool)
                    .await?;
            });
            return Err(GrantError::WrongTxCode);
        }
        let token = random_token(32);
        let won = on_pool!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let won = sqlx::query(REDEEM)
                .bind(code_hash.clone())
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if won {
                sqlx::query(INSERT_TOKEN)
                    .bind(sha256(token.as_bytes()).to_vec())
                    .bind(code_hash.clone())
                    .bind(now.saturating_add(ms(TOKEN_TTL)))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            won
        });
        if won {
            Ok(token)
        } else {
            // Another request redeemed it (or the last wrong try killed it) in between.
            Err(GrantError::Used)
        }
    }

    /// What a live access token may obtain: `None` for an unknown, expired or used token.
    pub async fn grant(&self, token: &str) -> Result<Option<Grant>, StoreError> {
        let now = now_ms();
        let row = on_pool!(&self.db, pool => {
            match sqlx::query(SELECT_GRANT)
                .bind(sha256(token.as_bytes()).to_vec())
                .bind(now)
                .fetch_optional(pool)
                .await?
            {
                None => None,
                Some(r) => Some((r.try_get::<Vec<u8>, _>("code_hash")?, r.try_get::<String, _>("claims")?)),
            }
        });
        let Some((offer_hash, claims)) = row else {
            return Ok(None);
        };
        let claims = serde_json::from_str(&claims).map_err(|source| StoreError::Corrupt {
            id: "wallet offer".into(),
            source,
        })?;
        Ok(Some(Grant { offer_hash, claims }))
    }

    /// Marks the grant's offer issued (dropping its claims and tokens); `false` when another
    /// request issued it first.
    pub async fn mark_issued(&self, grant: &Grant) -> Result<bool, StoreError> {
        Ok(on_pool!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let won = sqlx::query(ISSUED)
                .bind(grant.offer_hash.clone())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            sqlx::query(DELETE_TOKENS_OF)
                .bind(grant.offer_hash.clone())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            won
        }))
    }

    /// A fresh c_nonce; `None` when the bound ([`MAX_LIVE_NONCES`]) is reached (the caller says "try later").
    pub async fn nonce(&self) -> Result<Option<String>, StoreError> {
        let nonce = random_token(24);
        let now = now_ms();
        let live: i64 = on_pool!(&self.db, pool => {
            sqlx::query(COUNT_NONCES).bind(now).fetch_one(pool).await?.try_get("n")?
        });
        if live >= self.max_nonces {
            return Ok(None);
        }
        on_pool!(&self.db, pool => {
            sqlx::query(INSERT_NONCE)
                .bind(sha256(nonce.as_bytes()).to_vec())
                .bind(now.saturating_add(ms(NONCE_TTL)))
                .execute(pool)
                .await?;
        });
        Ok(Some(nonce))
    }

    /// Uses up `nonce`: `true` once for a live nonce we issued, `false` after.
    pub async fn take_nonce(&self, nonce: &str) -> Result<bool, StoreError> {
        Ok(on_pool!(&self.db, pool => {
            sqlx::query(TAKE_NONCE)
                .bind(sha256(nonce.as_bytes()).to_vec())
                .bind(now_ms())
                .execute(pool)
                .await?
                .rows_affected()
                == 1
        }))
    }

    /// Deletes expired offers, tokens and nonces; returns how many rows went.
    pub async fn sweep(&self) -> Result<u64, StoreError> {
        let now = now_ms();
        Ok(on_pool!(&self.db, pool => {
            let mut n = 0;
            for q in [SWEEP_OFFERS, SWEEP_TOKENS, SWEEP_NONCES] {
                n += sqlx::query(q).bind(now).execute(pool).await?.rows_affected();
            }
            n
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::ExchangeStore;
    use serde_json::json;

    async fn store() -> WalletStore {
        let ex = ExchangeStore::in_memory(Duration::from_secs(60), 10)
            .await
            .expect("store");
        WalletStore::new(ex.database())
    }

    #[test]
    fn tx_codes_are_six_digits_and_vary() {
        let codes: std::collections::BTreeSet<String> = (0..50).map(|_| six_digits()).collect();
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()))
        );
        assert!(codes.len() > 40, "{codes:?}");
    }

    #[tokio::test]
    async fn a_code_buys_one_token_and_a_token_one_credential() {
        let s = store().await;
        let offer = s
            .create_offer(&json!({"elm": {"x": 1}}), Duration::from_secs(60))
            .await
            .expect("offer");
        let token = s
            .redeem(&offer.pre_authorized_code, &offer.tx_code)
            .await
            .expect("token");
        assert!(matches!(
            s.redeem(&offer.pre_authorized_code, &offer.tx_code).await,
            Err(GrantError::Used)
        ));
        let grant = s.grant(&token).await.expect("db").expect("live token");
        assert_eq!(grant.claims, json!({"elm": {"x": 1}}));
        assert!(s.mark_issued(&grant).await.expect("db"));
        assert!(!s.mark_issued(&grant).await.expect("db"));
        assert!(s.grant(&token).await.expect("db").is_none());
        assert!(s.grant("forged").await.expect("db").is_none());
        assert!(matches!(
            s.redeem("nope", &offer.tx_code).await,
            Err(GrantError::Unknown)
        ));
    }

    #[tokio::test]
    async fn wrong_tx_codes_lock_the_offer_out() {
        let s = store().await;
        let offer = s
            .create_offer(&json!({}), Duration::from_secs(60))
            .await
            .expect("offer");
        let wrong = if offer.tx_code == "000000" {
            "000001"
        } else {
            "000000"
        };
        for _ in 0..MAX_TX_TRIES {
            assert!(matches!(
                s.redeem(&offer.pre_authorized_code, wrong).await,
                Err(GrantError::WrongTxCode)
            ));
        }
        // Dead: even the right code no longer works.
        assert!(matches!(
            s.redeem(&offer.pre_authorized_code, &offer.tx_code).await,
            Err(GrantError::LockedOut)
        ));
    }

    #[tokio::test]
    async fn live_nonces_are_bounded() {
        let s = store().await.with_max_nonces(3);
        let mut got = Vec::new();
        for _ in 0..3 {
            got.push(s.nonce().await.expect("db").expect("room"));
        }
        assert!(s.nonce().await.expect("db").is_none(), "full");
        assert!(s.take_nonce(&got[0]).await.expect("db"));
        assert!(
            s.nonce().await.expect("db").is_some(),
            "room again once one is used"
        );
    }

    #[tokio::test]
    async fn nonces_are_single_use_and_offers_expire_and_are_swept() {
        let s = store().await;
        let n = s.nonce().await.expect("nonce").expect("room");
        assert!(s.take_nonce(&n).await.expect("db"));
        assert!(!s.take_nonce(&n).await.expect("db"));
        assert!(!s.take_nonce("made-up").await.expect("db"));
        let offer = s
            .create_offer(&json!({}), Duration::from_millis(1))
            .await
            .expect("offer");
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(matches!(
            s.redeem(&offer.pre_authorized_code, &offer.tx_code).await,
            Err(GrantError::Expired)
        ));
        assert_eq!(s.sweep().await.expect("sweep"), 1);
    }
}
