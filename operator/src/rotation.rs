//! The life of a SigningCertificate as a pure state machine: given the spec, the clock and what
//! the Secret holds, the one next step. Rotation never makes a verifier fail:
//!
//! 1. `renewalTime` (= `notAfter − renewBefore`) passes → a *next* key and certificate are issued
//!    into `next.key`/`next.crt`; RegistryEntries pick the certificate up and publish it beside
//!    the current one.
//! 2. Once every RegistryEntry that lists this certificate reports the next fingerprint
//!    published, and `propagationDelay` has passed since issuance (EMREX 1.x clients cache the
//!    JSON list), the Secret's `tls.*` become the next pair and the old certificate moves to
//!    `previous.crt`. The Signer re-reads its files and signs with the new key.
//! 3. After `gracePeriod` (documents signed just before the switch are still in flight),
//!    `previous.crt` is dropped and leaves the entries.
//!
//! A current certificate that is missing, unreadable, or already expired is replaced at once
//! (there is nothing valid to overlap with); one that no longer matches the spec (subject, key
//! type or size) is rotated like a due renewal.

use std::time::Duration;

use k8s_openapi::jiff::{SignedDuration, Timestamp};

use crate::crd::{KeyAlgorithm, SigningCertificateSpec};
use crate::pki::CertInfo;

/// A spec with its defaults applied and durations parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertPolicy {
    pub common_name: String,
    pub organization: Option<String>,
    pub algorithm: KeyAlgorithm,
    pub rsa_bits: i32,
    pub duration: Duration,
    pub renew_before: Duration,
    pub propagation_delay: Duration,
    pub grace_period: Duration,
}

/// Why a spec cannot be used; shown in the `Reconciled` condition and an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("{field}: {value:?} is not a duration like 2160h or 10m")]
    Duration { field: &'static str, value: String },
    #[error("duration must be at least 1m, is {0:?}")]
    TooShort(Duration),
    #[error("renewBefore ({renew:?}) must be shorter than duration ({duration:?})")]
    RenewTooLong { renew: Duration, duration: Duration },
    #[error(
        "keySize {0} is not allowed: RSA takes 2048, 3072 or 4096; ECDSA is always P-256 (leave keySize out)"
    )]
    KeySize(i32),
    #[error("commonName must be 1–64 characters")]
    CommonName,
    #[error("secretName {0:?} is not a valid Secret name")]
    SecretName(String),
}

fn parse(
    field: &'static str,
    value: Option<&str>,
    default: Duration,
) -> Result<Duration, SpecError> {
    match value {
        None => Ok(default),
        Some(v) => humantime::parse_duration(v).map_err(|_| SpecError::Duration {
            field,
            value: v.to_string(),
        }),
    }
}

/// Whether `name` is a DNS-1123 subdomain (what Secret and most object names must be).
pub fn valid_object_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

impl CertPolicy {
    /// Applies defaults (90 days; renew a third before expiry; 10 minutes propagation; 1 hour
    /// grace) and checks the spec.
    pub fn from_spec(spec: &SigningCertificateSpec) -> Result<Self, SpecError> {
        if !valid_object_name(&spec.secret_name) {
            return Err(SpecError::SecretName(spec.secret_name.clone()));
        }
        if spec.common_name.is_empty() || spec.common_name.chars().count() > 64 {
            return Err(SpecError::CommonName);
        }
        let duration = parse(
            "duration",
            spec.duration.as_deref(),
            Duration::from_secs(90 * 86400),
        )?;
        if duration < Duration::from_secs(60) {
            return Err(SpecError::TooShort(duration));
        }
        let renew_before = parse("renewBefore", spec.renew_before.as_deref(), duration / 3)?;
        if renew_before >= duration {
            return Err(SpecError::RenewTooLong {
                renew: renew_before,
                duration,
            });
        }
        let rsa_bits = match (spec.key_algorithm, spec.key_size) {
            (KeyAlgorithm::RSA, None) => 3072,
            (KeyAlgorithm::RSA, Some(b @ (2048 | 3072 | 4096))) => b,
            (_, Some(b)) => return Err(SpecError::KeySize(b)),
            (KeyAlgorithm::ECDSA, None) => 0,
        };
        Ok(Self {
            common_name: spec.common_name.clone(),
            organization: spec.organization.clone(),
            algorithm: spec.key_algorithm,
            rsa_bits,
            duration,
            renew_before,
            propagation_delay: parse(
                "propagationDelay",
                spec.propagation_delay.as_deref(),
                Duration::from_secs(600),
            )?,
            grace_period: parse(
                "gracePeriod",
                spec.grace_period.as_deref(),
                Duration::from_secs(3600),
            )?,
        })
    }

    /// The key description `CertInfo::key` would show for a certificate of this policy.
    pub fn key_label(&self) -> String {
        match self.algorithm {
            KeyAlgorithm::ECDSA => "ECDSA-P256".into(),
            KeyAlgorithm::RSA => format!("RSA-{}", self.rsa_bits),
        }
    }

    /// Whether `cert` is what this policy asks for (subject and key).
    pub fn matches(&self, cert: &CertInfo) -> bool {
        cert.common_name.as_deref() == Some(self.common_name.as_str())
            && cert.key == self.key_label()
    }

    /// Validity of a certificate issued `now`: backdated a little (at most a minute) for clocks
    /// that run behind, both ends on whole seconds.
    pub fn validity(&self, now: Timestamp) -> (Timestamp, Timestamp) {
        let now = whole_seconds(now);
        let back = (self.duration / 10).min(Duration::from_secs(60));
        let nb = now.saturating_sub(sd(back)).unwrap_or(now);
        let na = now.saturating_add(sd(self.duration)).unwrap_or(now);
        (nb, na)
    }

    /// When renewal starts for `cert`: `notAfter − renewBefore`, truncated to the second (it
    /// round-trips through status; a fraction would requeue early forever).
    pub fn renewal_time(&self, cert: &CertInfo) -> Timestamp {
        whole_seconds(
            cert.not_after
                .saturating_sub(sd(self.renew_before))
                .unwrap_or(cert.not_after),
        )
    }
}

fn sd(d: Duration) -> SignedDuration {
    SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX)
}

/// `t` without its fraction of a second.
pub fn whole_seconds(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second()).unwrap_or(t)
}

/// What the Secret holds, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Material {
    /// `tls.crt` (with its key present in `tls.key`).
    pub current: Option<CertInfo>,
    /// `next.crt` (with `next.key`).
    pub next: Option<CertInfo>,
    pub previous: Option<CertInfo>,
    pub next_issued_at: Option<Timestamp>,
    pub previous_until: Option<Timestamp>,
}

/// The one step to take now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// No usable current certificate: issue one into `tls.*` directly.
    IssueCurrent { reason: &'static str },
    /// Renewal is due (or the spec changed): issue into `next.*`.
    IssueNext { reason: &'static str },
    /// The next certificate is published and the delay passed: make it current.
    Switch,
    /// The grace period of the previous certificate is over.
    DropPrevious,
    /// Nothing to do until `wake` (if any).
    Wait {
        wake: Option<Timestamp>,
        /// Waiting for RegistryEntries to publish the next certificate.
        awaiting_publication: bool,
    },
}

/// The next step for `m` at `now`. `next_published` says whether every RegistryEntry listing
/// this certificate has published the next one.
pub fn plan(policy: &CertPolicy, m: &Material, now: Timestamp, next_published: bool) -> Step {
    let Some(current) = &m.current else {
        return Step::IssueCurrent {
            reason: "NoCertificate",
        };
    };
    if current.not_after <= now {
        return Step::IssueCurrent { reason: "Expired" };
    }
    if let Some(next) = &m.next {
        let issued = m.next_issued_at.unwrap_or(next.not_before);
        let switch_at = issued
            .saturating_add(sd(policy.propagation_delay))
            .unwrap_or(issued);
        // About to expire: switching is better than signing with an expired key.
        let last_moment = current
            .not_after
            .saturating_sub(sd(Duration::from_secs(30)))
            .unwrap_or(current.not_after);
        if (now >= switch_at && next_published) || now >= last_moment {
            return Step::Switch;
        }
        let wake = if now < switch_at {
            Some(switch_at)
        } else {
            None
        };
        return Step::Wait {
            wake: earliest(wake, Some(last_moment)),
            awaiting_publication: !next_published,
        };
    }
    if let Some(_prev) = &m.previous {
        match m.previous_until {
            Some(until) if now < until => {}
            _ => return Step::DropPrevious,
        }
    }
    if !policy.matches(current) {
        return Step::IssueNext {
            reason: "SpecChanged",
        };
    }
    let renewal = policy.renewal_time(current);
    if now >= renewal {
        return Step::IssueNext { reason: "Renewal" };
    }
    Step::Wait {
        wake: earliest(Some(renewal), m.previous_until),
        awaiting_publication: false,
    }
}

fn earliest(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(s).expect("t")
    }

    fn spec() -> SigningCertificateSpec {
        SigningCertificateSpec {
            secret_name: "ncp-signing".into(),
            common_name: "ncp.example.org".into(),
            organization: None,
            key_algorithm: KeyAlgorithm::ECDSA,
            key_size: None,
            duration: Some("100s".into()),
            renew_before: Some("40s".into()),
            ca_secret: None,
            propagation_delay: Some("10s".into()),
            grace_period: Some("20s".into()),
        }
    }

    fn cert(nb: i64, na: i64, fp: &str) -> CertInfo {
        CertInfo {
            pem: String::new(),
            not_before: t(nb),
            not_after: t(na),
            fingerprint: fp.into(),
            common_name: Some("ncp.example.org".into()),
            key: "ECDSA-P256".into(),
            dns_names: vec![],
        }
    }

    #[test]
    fn defaults_and_refusals() {
        let mut s = spec();
        s.duration = None;
        s.renew_before = None;
        s.propagation_delay = None;
        s.grace_period = None;
        let p = CertPolicy::from_spec(&s).expect("valid");
        assert_eq!(p.duration, Duration::from_secs(90 * 86400));
        assert_eq!(p.renew_before, Duration::from_secs(30 * 86400));
        assert_eq!(p.propagation_delay, Duration::from_secs(600));
        assert_eq!(p.grace_period, Duration::from_secs(3600));

        let mut bad = spec();
        bad.renew_before = Some("100s".into());
        assert!(matches!(
            CertPolicy::from_spec(&bad),
            Err(SpecError::RenewTooLong { .. })
        ));
        bad = spec();
        bad.duration = Some("soon".into());
        assert!(matches!(
            CertPolicy::from_spec(&bad),
            Err(SpecError::Duration {
                field: "duration",
                ..
            })
        ));
        bad = spec();
        bad.key_size = Some(2048);
        assert_eq!(CertPolicy::from_spec(&bad), Err(SpecError::KeySize(2048)));
        bad = spec();
        bad.key_algorithm = KeyAlgorithm::RSA;
        bad.key_size = Some(1024);
        assert_eq!(CertPolicy::from_spec(&bad), Err(SpecError::KeySize(1024)));
        bad.key_size = None;
        assert_eq!(CertPolicy::from_spec(&bad).expect("rsa").rsa_bits, 3072);
        bad = spec();
        bad.secret_name = "Bad_Name".into();
        assert!(matches!(
            CertPolicy::from_spec(&bad),
            Err(SpecError::SecretName(_))
        ));
        bad = spec();
        bad.duration = Some("30s".into());
        bad.renew_before = Some("10s".into());
        assert!(matches!(
            CertPolicy::from_spec(&bad),
            Err(SpecError::TooShort(_))
        ));
    }

    #[test]
    fn a_whole_rotation_overlaps_and_never_leaves_a_gap() {
        let p = CertPolicy::from_spec(&spec()).expect("valid");
        let mut m = Material::default();
        assert_eq!(
            plan(&p, &m, t(1000), true),
            Step::IssueCurrent {
                reason: "NoCertificate"
            }
        );

        m.current = Some(cert(1000, 1100, "a"));
        // Before renewal (1100 − 40 = 1060): wait for it.
        assert_eq!(
            plan(&p, &m, t(1010), true),
            Step::Wait {
                wake: Some(t(1060)),
                awaiting_publication: false
            }
        );
        assert_eq!(
            plan(&p, &m, t(1060), true),
            Step::IssueNext { reason: "Renewal" }
        );

        m.next = Some(cert(1060, 1160, "b"));
        m.next_issued_at = Some(t(1060));
        // Not published yet: wait even after the delay (until the expiry margin at 1070).
        assert!(matches!(
            plan(&p, &m, t(1069), false),
            Step::Wait {
                awaiting_publication: true,
                ..
            }
        ));
        // Published but the delay (10 s) not over.
        assert_eq!(
            plan(&p, &m, t(1065), true),
            Step::Wait {
                wake: Some(t(1070)),
                awaiting_publication: false
            }
        );
        assert_eq!(plan(&p, &m, t(1070), true), Step::Switch);

        // After the switch: previous kept for the grace period.
        m.previous = m.current.take();
        m.current = m.next.take();
        m.next_issued_at = None;
        m.previous_until = Some(t(1090));
        assert_eq!(
            plan(&p, &m, t(1080), true),
            Step::Wait {
                wake: Some(t(1090)),
                awaiting_publication: false
            }
        );
        assert_eq!(plan(&p, &m, t(1090), true), Step::DropPrevious);
        m.previous = None;
        m.previous_until = None;
        assert_eq!(
            plan(&p, &m, t(1091), true),
            Step::Wait {
                wake: Some(t(1120)),
                awaiting_publication: false
            }
        );
    }

    #[test]
    fn expiry_forces_progress() {
        let p = CertPolicy::from_spec(&spec()).expect("valid");
        let mut m = Material {
            current: Some(cert(1000, 1200, "a")),
            next: Some(cert(1060, 1260, "b")),
            next_issued_at: Some(t(1060)),
            ..Material::default()
        };
        // Never published: wait, but only until 30 s before the current one expires.
        assert_eq!(
            plan(&p, &m, t(1100), false),
            Step::Wait {
                wake: Some(t(1170)),
                awaiting_publication: true
            }
        );
        assert_eq!(plan(&p, &m, t(1170), false), Step::Switch);
        m.next = None;
        assert_eq!(
            plan(&p, &m, t(1200), true),
            Step::IssueCurrent { reason: "Expired" }
        );
    }

    #[test]
    fn a_spec_change_rotates_with_overlap() {
        let p = CertPolicy::from_spec(&spec()).expect("valid");
        let mut c = cert(1000, 1100, "a");
        c.common_name = Some("old.example.org".into());
        let m = Material {
            current: Some(c),
            ..Material::default()
        };
        assert_eq!(
            plan(&p, &m, t(1001), true),
            Step::IssueNext {
                reason: "SpecChanged"
            }
        );
    }

    #[test]
    fn validity_and_renewal_time_are_whole_seconds() {
        let p = CertPolicy::from_spec(&spec()).expect("valid");
        let now = Timestamp::from_millisecond(1_000_500).expect("t");
        let (nb, na) = p.validity(now);
        assert_eq!(nb, t(990));
        assert_eq!(na, t(1100));
        let c = CertInfo {
            not_after: Timestamp::from_millisecond(1_100_700).expect("t"),
            ..cert(990, 1100, "x")
        };
        assert_eq!(p.renewal_time(&c), t(1060));
    }
}
