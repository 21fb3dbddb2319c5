//! Server-side exchange state: what a client handed over, who logged in, what they may send.
//!
//! An exchange is keyed on an unguessable id of our own (128 random bits), never on the client's
//! `sessionId`, and bound to the browser that started it by a second random secret kept in a
//! cookie (only its SHA-256 is stored). It expires after `ttl`; a finished exchange is remembered
//! until then so that a replayed form gets "already finished", not a second response.
//!
//! The store is in memory: one NCP replica per exchange. Several replicas need sticky sessions
//! (the exchange id is in every URL path, so routing on it is easy) — see docs/ncp.md.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use emrex_elmo::Elmo;

use crate::entry::EntryRequest;
use crate::oidc::PendingLogin;
use crate::selection::Offers;
use crate::student::Student;

/// Where an exchange is.
#[derive(Debug, Clone)]
pub enum Stage {
    /// Waiting for the student to log in (possibly at the identity provider).
    Login { pending: Option<PendingLogin> },
    /// Logged in, results loaded, choosing.
    Choosing {
        student: Student,
        results: Box<Elmo>,
        offers: Offers,
    },
    /// A response was sent (any return code). Kept only to refuse replays clearly.
    Finished,
}

/// One exchange.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub id: String,
    pub request: EntryRequest,
    /// SHA-256 of the browser secret (the cookie).
    browser_hash: [u8; 32],
    /// Hidden in every form of this exchange.
    pub csrf: String,
    pub expires: Instant,
    pub stage: Stage,
}

impl Exchange {
    /// Whether `cookie` is this exchange's browser secret (constant time).
    pub fn browser_matches(&self, cookie: Option<&str>) -> bool {
        cookie.is_some_and(|c| {
            let h = sha256(c.as_bytes());
            aws_lc_rs::constant_time::verify_slices_are_equal(&h, &self.browser_hash).is_ok()
        })
    }

    /// Whether `token` is this exchange's CSRF token (constant time).
    pub fn csrf_matches(&self, token: &str) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(token.as_bytes(), self.csrf.as_bytes())
            .is_ok()
    }
}

/// Why an exchange cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    #[error("unknown or expired exchange")]
    Unknown,
    #[error("the exchange is already finished")]
    Finished,
    #[error("too many exchanges in progress")]
    Full,
}

/// A new exchange: its id and the secret for the browser's cookie.
#[derive(Debug, Clone)]
pub struct Created {
    pub id: String,
    pub browser_secret: String,
}

/// The in-memory store.
#[derive(Debug)]
pub struct ExchangeStore {
    inner: Mutex<Inner>,
    ttl: Duration,
    max: usize,
}

#[derive(Debug, Default)]
struct Inner {
    map: HashMap<String, Exchange>,
    last_purge: Option<Instant>,
}

impl ExchangeStore {
    /// A store keeping exchanges for `ttl`, at most `max` at a time.
    pub fn new(ttl: Duration, max: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            ttl,
            max,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the map inconsistent (every update is a
        // single insert/replace), so a poisoned lock is still usable.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts an exchange for `request`.
    pub fn create(&self, request: EntryRequest) -> Result<Created, ExchangeError> {
        let now = Instant::now();
        let mut inner = self.lock();
        if inner
            .last_purge
            .is_none_or(|t| now.duration_since(t) > Duration::from_secs(5))
            || inner.map.len() >= self.max
        {
            inner.map.retain(|_, e| e.expires > now);
            inner.last_purge = Some(now);
        }
        if inner.map.len() >= self.max {
            return Err(ExchangeError::Full);
        }
        let id = random_token(16);
        let browser_secret = random_token(32);
        inner.map.insert(
            id.clone(),
            Exchange {
                id: id.clone(),
                request,
                browser_hash: sha256(browser_secret.as_bytes()),
                csrf: random_token(32),
                expires: now + self.ttl,
                stage: Stage::Login { pending: None },
            },
        );
        Ok(Created { id, browser_secret })
    }

    /// A copy of a live exchange (finished ones included; check [`Stage::Finished`]).
    pub fn get(&self, id: &str) -> Result<Exchange, ExchangeError> {
        let inner = self.lock();
        match inner.map.get(id) {
            Some(e) if e.expires > Instant::now() => Ok(e.clone()),
            _ => Err(ExchangeError::Unknown),
        }
    }

    /// Moves a live, unfinished exchange to `stage`, if it is still at the stage `expected`
    /// accepts (so two racing requests cannot both finish it).
    pub fn advance(
        &self,
        id: &str,
        expected: impl FnOnce(&Stage) -> bool,
        stage: Stage,
    ) -> Result<(), ExchangeError> {
        let mut inner = self.lock();
        match inner.map.get_mut(id) {
            Some(e) if e.expires > Instant::now() => {
                if matches!(e.stage, Stage::Finished) {
                    return Err(ExchangeError::Finished);
                }
                if !expected(&e.stage) {
                    return Err(ExchangeError::Unknown);
                }
                e.stage = stage;
                Ok(())
            }
            _ => Err(ExchangeError::Unknown),
        }
    }

    /// Number of live exchanges (for metrics).
    pub fn len(&self) -> usize {
        let now = Instant::now();
        self.lock().map.values().filter(|e| e.expires > now).count()
    }

    /// Whether no exchange is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `n` random bytes, base64url without padding.
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    // aws-lc-rs's system RNG does not fail on supported platforms; if it ever did, a zeroed
    // token would be guessable, so refuse to continue.
    #[allow(clippy::expect_used)]
    aws_lc_rs::rand::fill(&mut bytes).expect("system random number generator");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn sha256(data: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{EntryRequest, ReturnUrlPolicy};

    fn request() -> EntryRequest {
        EntryRequest::from_params(
            [("sessionId", "s1"), ("returnUrl", "https://smp.example/r")],
            &ReturnUrlPolicy::default(),
            false,
        )
        .expect("valid")
    }

    #[test]
    fn ids_are_random_and_browser_binding_holds() {
        let store = ExchangeStore::new(Duration::from_secs(60), 10);
        let a = store.create(request()).expect("a");
        let b = store.create(request()).expect("b");
        assert_ne!(a.id, b.id);
        assert_eq!(a.id.len(), 22);
        let ea = store.get(&a.id).expect("get");
        assert!(ea.browser_matches(Some(&a.browser_secret)));
        assert!(!ea.browser_matches(Some(&b.browser_secret)));
        assert!(!ea.browser_matches(None));
        assert!(ea.csrf_matches(&ea.csrf.clone()));
        assert!(!ea.csrf_matches("forged"));
        assert_eq!(store.get("nope").err(), Some(ExchangeError::Unknown));
    }

    #[test]
    fn finishing_is_final_and_racing_finishers_lose() {
        let store = ExchangeStore::new(Duration::from_secs(60), 10);
        let a = store.create(request()).expect("a");
        let login = |s: &Stage| matches!(s, Stage::Login { .. });
        store
            .advance(&a.id, login, Stage::Finished)
            .expect("finish");
        assert_eq!(
            store.advance(&a.id, |_| true, Stage::Finished),
            Err(ExchangeError::Finished)
        );
        assert!(matches!(
            store.get(&a.id).expect("kept").stage,
            Stage::Finished
        ));
    }

    #[test]
    fn expiry_and_capacity() {
        let store = ExchangeStore::new(Duration::from_millis(500), 2);
        let a = store.create(request()).expect("a");
        store.create(request()).expect("b");
        assert_eq!(store.create(request()).err(), Some(ExchangeError::Full));
        std::thread::sleep(Duration::from_millis(600));
        assert_eq!(store.get(&a.id).err(), Some(ExchangeError::Unknown));
        // Expired ones are purged to make room.
        store.create(request()).expect("room again");
        assert_eq!(store.len(), 1);
    }
}
