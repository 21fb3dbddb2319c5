//! The SMP's core operations, shared by the pages and the gRPC API: start an exchange, receive
//! the NCP's return hop. I/O is the store and the registry snapshot; judging is pure
//! ([`crate::judge`]).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use emrex_elmo::Budget;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use crate::judge::{FormProblem, Judgement, ReturnForm, Trust, Window, judge};
use crate::model::{ExchangeRecord, Outcome, OutcomeKind, Person, Status};
use crate::registry::Snapshot;
use crate::store::{Completion, SmpStore, StoreError};

/// The registry as the core sees it: the current snapshot.
pub type RegistryFn = Arc<dyn Fn() -> Arc<Snapshot> + Send + Sync>;

/// Settings of the core.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The SMP's public base URL (no trailing slash); `returnUrl` is `{public_url}/return`.
    pub public_url: String,
    pub dev_mode: bool,
    /// Serve the chooser (`/`, `/country/…`, `/start`): anyone can start an exchange there for
    /// whatever person they type, so it is for development and demos; in production the SIS
    /// starts exchanges over the authenticated gRPC API.
    pub chooser: bool,
    /// How long an exchange may take.
    pub ttl: Duration,
    /// Decoding budget for the `elmo` parameter.
    pub budget: Budget,
    /// How far an NCP's clock may be off ours when a document is bound to its exchange by its
    /// `generatedDate` (see [`crate::judge`]).
    pub clock_skew: Duration,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: String,
}

/// The SMP's metrics.
#[derive(Debug, Clone, Default)]
pub struct SmpMetrics {
    pub started: Counter,
    pub completed: Family<KindLabels, Counter>,
    pub refused_returns: Family<ReasonLabels, Counter>,
}

impl SmpMetrics {
    /// Registers under `emrex_smp`.
    pub fn register(&self, registry: &mut prometheus_client::registry::Registry) {
        let r = registry.sub_registry_with_prefix("emrex_smp");
        r.register(
            "exchanges_started",
            "Exchanges started",
            self.started.clone(),
        );
        r.register(
            "exchanges_completed",
            "Exchanges completed, by outcome",
            self.completed.clone(),
        );
        r.register(
            "returns_refused",
            "Return hops refused (unknown, replayed, expired session), by reason",
            self.refused_returns.clone(),
        );
    }
}

/// Why an exchange could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("EMREG lists no NCP with this acronym")]
    UnknownNcp,
    #[error(transparent)]
    Invalid(#[from] InvalidStart),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What is wrong with the person or reference an exchange was to start for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidStart {
    #[error("names longer than 200 characters")]
    NamesTooLong,
    #[error("the person needs a name")]
    NoName,
    #[error("birth_date must be YYYY-MM-DD")]
    BirthDate,
    #[error("sis_reference longer than 256 bytes")]
    SisReference,
}

/// Why a return hop was refused (nothing recorded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReturnRefused {
    #[error("the response names no exchange of this service")]
    Unknown,
    #[error("this exchange is already completed; a replayed response changes nothing")]
    Replayed,
    #[error("this exchange has expired")]
    Expired,
    /// Not a well-formed EMREX response (a duplicated or missing field).
    #[error("malformed response: {0}")]
    Malformed(#[from] FormProblem),
}

impl ReturnRefused {
    /// The `reason` label of `emrex_smp_returns_refused_total`.
    pub fn reason(self) -> &'static str {
        match self {
            ReturnRefused::Unknown => "unknown",
            ReturnRefused::Replayed => "replayed",
            ReturnRefused::Expired => "expired",
            ReturnRefused::Malformed(_) => "malformed",
        }
    }
}

/// The SMP core.
pub struct SmpCore<S: SmpStore> {
    pub store: Arc<S>,
    pub registry: RegistryFn,
    pub settings: Settings,
    pub metrics: SmpMetrics,
    links: crate::links::LinkKeys,
}

impl<S: SmpStore> std::fmt::Debug for SmpCore<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmpCore")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A fresh `sessionId`: 24 random bytes, 32 URL-safe characters (the standard's length).
pub fn new_session_id() -> String {
    let mut b = [0u8; 24];
    #[allow(clippy::expect_used)]
    aws_lc_rs::rand::fill(&mut b).expect("system random number generator");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// [`judge`] against the certificates `snapshot` lists for the NCP `acronym` (none when EMREG no
/// longer lists it: the document cannot verify, and the outcome says why).
fn judge_against(
    snapshot: &Snapshot,
    acronym: &str,
    form: &ReturnForm,
    person: &Person,
    budget: &Budget,
    window: &Window,
) -> Judgement {
    match snapshot.by_acronym(acronym) {
        Some(ncp) => judge(
            form,
            &Trust {
                certificates: &ncp.certificates,
                legacy_algorithms: ncp.legacy_algorithms,
            },
            person,
            budget,
            window,
        ),
        None => {
            let mut j = judge(
                form,
                &Trust {
                    certificates: &[],
                    legacy_algorithms: false,
                },
                person,
                budget,
                window,
            );
            if j.outcome.kind == OutcomeKind::SignatureInvalid {
                j.outcome.detail =
                    format!("EMREG no longer lists the NCP {acronym} the student was sent to");
            }
            j
        }
    }
}

impl<S: SmpStore> SmpCore<S> {
    /// A core over `store` and `registry`. Result-page links are keyed with a random per-process
    /// key until [`SmpCore::with_links`] gives shared ones (see [`crate::links`]).
    pub fn new(
        store: Arc<S>,
        registry: RegistryFn,
        settings: Settings,
        metrics: SmpMetrics,
    ) -> Self {
        Self {
            store,
            registry,
            settings,
            metrics,
            links: crate::links::LinkKeys::ephemeral(crate::links::LinksConfig::default().ttl),
        }
    }

    /// The keys of result-page links (shared by every replica when they come from a file).
    #[must_use]
    pub fn with_links(mut self, links: crate::links::LinkKeys) -> Self {
        self.links = links;
        self
    }

    /// Starts an exchange for `person` with the NCP `acronym`.
    pub async fn start(
        &self,
        person: Person,
        acronym: &str,
        sis_reference: &str,
    ) -> Result<ExchangeRecord, StartError> {
        let bad = |why: InvalidStart| Err(StartError::Invalid(why));
        if person.given_names.chars().count() > 200 || person.family_name.chars().count() > 200 {
            return bad(InvalidStart::NamesTooLong);
        }
        if person.given_names.trim().is_empty() && person.family_name.trim().is_empty() {
            return bad(InvalidStart::NoName);
        }
        if let Some(d) = &person.birth_date
            && emrex_elmo::dates::parse_date(d).is_none()
        {
            return bad(InvalidStart::BirthDate);
        }
        if sis_reference.len() > 256 {
            return bad(InvalidStart::SisReference);
        }
        let snapshot = (self.registry)();
        let ncp = snapshot.by_acronym(acronym).ok_or(StartError::UnknownNcp)?;
        let now = now_unix();
        let record = ExchangeRecord {
            session_id: new_session_id(),
            sis_reference: sis_reference.to_string(),
            person,
            ncp_acronym: ncp.acronym.clone(),
            ncp_country: ncp.country_code.clone(),
            ncp_url: ncp.url.clone(),
            created_unix: now,
            expires_unix: now + i64::try_from(self.settings.ttl.as_secs()).unwrap_or(3600),
            status: Status::Pending,
            completed_unix: None,
            outcome: None,
            raw_response: None,
            elmo_xml: None,
            revision: 0,
        };
        let stored = self.store.insert(record).await?;
        self.metrics.started.inc();
        tracing::info!(session = %short(&stored.session_id), ncp = %stored.ncp_acronym, "exchange started");
        Ok(stored)
    }

    /// The hidden fields the browser posts to the NCP.
    pub fn request_fields(&self, record: &ExchangeRecord) -> Vec<(&'static str, String)> {
        vec![
            ("sessionId", record.session_id.clone()),
            ("returnUrl", format!("{}/return", self.settings.public_url)),
        ]
    }

    /// Receives a return hop (an `application/x-www-form-urlencoded` body): judges it against
    /// the NCP the exchange was started with and records the outcome, the raw body and the
    /// decoded XML, once. A malformed form is refused before anything is looked up.
    pub async fn receive(
        &self,
        raw: Vec<u8>,
    ) -> Result<Result<ExchangeRecord, ReturnRefused>, StoreError> {
        let refuse = |r: ReturnRefused| {
            self.metrics
                .refused_returns
                .get_or_create(&ReasonLabels {
                    reason: r.reason().into(),
                })
                .inc();
            tracing::info!(reason = %r, "return hop refused");
            Ok(Err(r))
        };
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&raw).into_owned().collect();
        let form = match ReturnForm::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        {
            Ok(f) => f,
            Err(problem) => return refuse(problem.into()),
        };
        let Some(record) = self.store.get(&form.session_id).await? else {
            return refuse(ReturnRefused::Unknown);
        };
        let now = now_unix();
        if record.status == Status::Completed {
            return self.repeated(record, &raw, refuse);
        }
        if record.expires_unix <= now {
            return refuse(ReturnRefused::Expired);
        }
        let snapshot = (self.registry)();
        let window = Window {
            started_unix: record.created_unix,
            received_unix: now,
            skew: i64::try_from(self.settings.clock_skew.as_secs()).unwrap_or(i64::MAX),
        };
        // Decoding (inflate), C14N and the signature check are CPU work of several milliseconds
        // for a large document: on the blocking pool, so the async workers keep serving other
        // requests meanwhile (the decode budgets bound each job as before).
        let session_id = form.session_id.clone();
        let acronym = record.ncp_acronym.clone();
        let person = record.person.clone();
        let budget = self.settings.budget;
        let judged = tokio::task::spawn_blocking(move || {
            judge_against(&snapshot, &acronym, &form, &person, &budget, &window)
        })
        .await;
        let judgement = match judged {
            Ok(j) => j,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => return Err(StoreError::Interrupted(e.to_string())),
        };
        let outcome: Outcome = judgement.outcome;
        let kind = outcome.kind;
        let raw_again = raw.clone();
        match self
            .store
            .complete(&record.session_id, now, outcome, raw, judgement.xml)
            .await?
        {
            Completion::Completed(r) => {
                self.metrics
                    .completed
                    .get_or_create(&KindLabels {
                        outcome: format!("{kind:?}"),
                    })
                    .inc();
                tracing::info!(session = %short(&r.session_id), outcome = ?kind, "exchange completed");
                Ok(Ok(*r))
            }
            Completion::AlreadyCompleted => match self.store.get(&session_id).await? {
                // Another request (the same browser, another replica) completed it meanwhile.
                Some(now_stored) => self.repeated(now_stored, &raw_again, refuse),
                None => refuse(ReturnRefused::Unknown),
            },
            Completion::Expired => refuse(ReturnRefused::Expired),
            Completion::Unknown => refuse(ReturnRefused::Unknown),
        }
    }

    /// A completed exchange received again. The very same response (the browser's reload, back
    /// button or restored tab re-posting it) is answered with the stored result, changing
    /// nothing; any other response is a replay and refused.
    fn repeated(
        &self,
        record: ExchangeRecord,
        raw: &[u8],
        refuse: impl FnOnce(ReturnRefused) -> Result<Result<ExchangeRecord, ReturnRefused>, StoreError>,
    ) -> Result<Result<ExchangeRecord, ReturnRefused>, StoreError> {
        let digest = |b: &[u8]| aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b);
        let same = record.raw_response.as_deref().is_some_and(|stored| {
            aws_lc_rs::constant_time::verify_slices_are_equal(
                digest(stored).as_ref(),
                digest(raw).as_ref(),
            )
            .is_ok()
        });
        if !same {
            return refuse(ReturnRefused::Replayed);
        }
        self.metrics
            .refused_returns
            .get_or_create(&ReasonLabels {
                reason: "repeated".into(),
            })
            .inc();
        tracing::info!(session = %short(&record.session_id), "the same response again: showing the stored result");
        Ok(Ok(record))
    }

    /// The token that lets the browser which completed an exchange see its result page.
    pub fn view_token(&self, session_id: &str) -> String {
        self.links.mint(session_id)
    }

    /// Whether `token` is a current view token of `session_id` (constant time).
    pub fn view_token_ok(&self, session_id: &str, token: &str) -> bool {
        self.links.check(session_id, token)
    }
}

/// A session id shortened for logs.
fn short(s: &str) -> &str {
    s.get(..8).unwrap_or(s)
}
