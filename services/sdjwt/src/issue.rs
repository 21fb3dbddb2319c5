//! SD-JWT VC issuance: RFC 9901 (Selective Disclosure for JWTs) with the SD-JWT VC profile
//! (draft-ietf-oauth-sd-jwt-vc): disclosures, `_sd` digests, `...` array entries, `_sd_alg`,
//! `vct`, `iss`, `iat`, `exp`, `cnf.jwk`, assembled as `<issuer-jwt>~<disclosure>~…~`.
//!
//! Preparing ([`prepare`]) is pure apart from the random salts; signing goes through a
//! [`JwsSigner`], and [`Prepared::finish`] checks that what came back signs exactly the payload
//! that was prepared (a signer that swapped the payload would otherwise go unnoticed).

use std::collections::BTreeSet;
use std::str::FromStr;

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use serde_json::{Map, Value, json};

use crate::jose::{Jwk, JwsSigner, JwtType, SignError, b64url, b64url_decode};

/// The hash algorithm of the digests (`_sd_alg`).
pub const SD_ALG: &str = "sha-256";

/// Claims the issuer sets from [`CredentialSpec`]'s fields; the claims given must not contain them.
pub const REGISTERED_CLAIMS: &[&str] =
    &["iss", "iat", "nbf", "exp", "sub", "vct", "cnf", "_sd_alg"];

/// Claims SD-JWT VC forbids to make selectively disclosable (draft-ietf-oauth-sd-jwt-vc §3.2.2).
pub const NEVER_DISCLOSABLE: &[&str] =
    &["iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "status"];

/// A path to a claim that is to be selectively disclosable, written like a JSON Pointer
/// (RFC 6901, `~0`/`~1` escapes): `/credentialSubject/givenName`. Inside an array a segment is an
/// index (`/achievements/0`) or `*`, every element (`/achievements/*`); inside an object every
/// segment, `*` and digits included, is a member name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClaimPath(Vec<String>);

impl ClaimPath {
    /// The path from its segments (unescaped).
    pub fn new<S: Into<String>>(segments: impl IntoIterator<Item = S>) -> Self {
        Self(segments.into_iter().map(Into::into).collect())
    }

    /// The segments.
    pub fn segments(&self) -> &[String] {
        &self.0
    }
}

impl std::fmt::Display for ClaimPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for s in &self.0 {
            write!(f, "/{}", s.replace('~', "~0").replace('/', "~1"))?;
        }
        Ok(())
    }
}

impl FromStr for ClaimPath {
    type Err = IssueError;
    fn from_str(s: &str) -> Result<Self, IssueError> {
        let bad = || IssueError::BadPath(s.to_string());
        let rest = s.strip_prefix('/').ok_or_else(bad)?;
        let mut segments = Vec::new();
        for raw in rest.split('/') {
            let mut seg = String::with_capacity(raw.len());
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                if c == '~' {
                    match chars.next() {
                        Some('0') => seg.push('~'),
                        Some('1') => seg.push('/'),
                        _ => return Err(bad()),
                    }
                } else {
                    seg.push(c);
                }
            }
            segments.push(seg);
        }
        Ok(Self(segments))
    }
}

/// Bounds on what is issued, so that a credential cannot grow without limit (a wallet, and the
/// verifiers after it, must parse it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssueLimits {
    /// Largest claims object, serialized, in bytes.
    pub max_claims_bytes: usize,
    /// Deepest nesting of the claims (an object at the top is depth 1).
    pub max_depth: usize,
    /// Most disclosures (and so most selectively disclosable paths matched).
    pub max_disclosures: usize,
    /// Most decoy digests per `_sd` array.
    pub max_decoys: usize,
}

impl Default for IssueLimits {
    fn default() -> Self {
        Self {
            max_claims_bytes: 512 * 1024,
            max_depth: 16,
            max_disclosures: 1024,
            max_decoys: 8,
        }
    }
}

/// What to issue.
#[derive(Debug, Clone)]
pub struct CredentialSpec {
    /// `iss`: the credential issuer identifier (an https URL for `jwt-vc-issuer` metadata).
    pub issuer: String,
    /// `vct`: the credential type, e.g. `urn:eudi:elm:1`.
    pub vct: String,
    /// `iat`, seconds since the epoch.
    pub issued_at: i64,
    /// `exp`, when the credential stops being valid.
    pub expires_at: Option<i64>,
    /// `nbf`.
    pub not_before: Option<i64>,
    /// `sub`, if the credential names a subject identifier.
    pub subject: Option<String>,
    /// The holder's key (from the wallet's key proof), as `cnf.jwk`.
    pub holder: Jwk,
    /// The credential's own claims.
    pub claims: Map<String, Value>,
    /// Which claims are selectively disclosable. A path inside another disclosable claim gives a
    /// disclosure nested in that one's value (recursive disclosure, RFC 9901 §4.2.6).
    pub disclosable: Vec<ClaimPath>,
    /// Decoy digests added to each `_sd` array (RFC 9901 §4.2.5), to hide how many claims there
    /// are; 0 for none.
    pub decoys: usize,
    /// The issuer JWT's `typ`.
    pub typ: JwtType,
}

/// One disclosure: what the holder reveals to show one claim.
#[derive(Debug, Clone, PartialEq)]
pub struct Disclosure {
    /// base64url of the JSON array `[salt, name, value]` or, for an array element, `[salt, value]`.
    pub encoded: String,
    /// base64url SHA-256 of `encoded`, as it appears in `_sd` or `{"...": digest}`.
    pub digest: String,
    /// The salt (128 random bits, base64url).
    pub salt: String,
    /// The claim name; `None` for an array element.
    pub name: Option<String>,
    /// The claim's value as disclosed (with its own nested digests, if any).
    pub value: Value,
}

/// Why a credential could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("not a claim path (a JSON Pointer starting with /): {0:?}")]
    BadPath(String),
    #[error("selectively disclosable path {0} matches no claim")]
    PathNotFound(String),
    #[error("claim {0:?} is set by the issuer and must not be among the claims")]
    RegisteredClaim(String),
    #[error("claim {0:?} must not be selectively disclosable (SD-JWT VC)")]
    NeverDisclosable(String),
    #[error("claim name {0:?} is reserved by SD-JWT")]
    ReservedName(String),
    #[error("the claims are {len} bytes; the limit is {max}")]
    TooLarge { len: usize, max: usize },
    #[error("the claims are nested {depth} deep; the limit is {max}")]
    TooDeep { depth: usize, max: usize },
    #[error("{count} disclosures; the limit is {max}")]
    TooManyDisclosures { count: usize, max: usize },
    #[error("{count} decoys per object; the limit is {max}")]
    TooManyDecoys { count: usize, max: usize },
    #[error("no random numbers")]
    Random,
    #[error(transparent)]
    Sign(#[from] SignError),
    #[error("the signer returned a JWS that does not sign the prepared payload: {0}")]
    SignerMismatch(&'static str),
}

/// A credential ready to be signed: the JWT payload and the disclosures.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The issuer JWT's payload.
    pub payload: Value,
    /// `payload` serialized: the bytes to sign.
    pub payload_bytes: Vec<u8>,
    /// Every disclosure, inner ones before the ones that contain them.
    pub disclosures: Vec<Disclosure>,
    /// The `typ` to sign with.
    pub typ: JwtType,
}

/// An issued SD-JWT VC.
#[derive(Debug, Clone)]
pub struct SdJwtVc {
    /// The issuer-signed JWT (compact JWS).
    pub issuer_jwt: String,
    /// All disclosures.
    pub disclosures: Vec<Disclosure>,
    /// The signed payload (for logs and tests).
    pub payload: Value,
}

impl std::fmt::Display for SdJwtVc {
    /// `<issuer-jwt>~<disclosure>~…~` (RFC 9901 §4: no key-binding JWT from the issuer).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.issuer_jwt)?;
        f.write_str("~")?;
        for d in &self.disclosures {
            f.write_str(&d.encoded)?;
            f.write_str("~")?;
        }
        Ok(())
    }
}

fn salt(rng: &SystemRandom) -> Result<String, IssueError> {
    let mut bytes = [0u8; 16];
    rng.fill(&mut bytes).map_err(|_| IssueError::Random)?;
    Ok(b64url(bytes))
}

fn sd_digest(text: &str) -> String {
    b64url(digest(&SHA256, text.as_bytes()))
}

struct Ctx<'a> {
    rng: SystemRandom,
    limits: &'a IssueLimits,
    decoys: usize,
    disclosures: Vec<Disclosure>,
    matched: BTreeSet<ClaimPath>,
}

impl Ctx<'_> {
    fn disclose(&mut self, name: Option<&str>, value: Value) -> Result<String, IssueError> {
        if self.disclosures.len() >= self.limits.max_disclosures {
            return Err(IssueError::TooManyDisclosures {
                count: self.disclosures.len() + 1,
                max: self.limits.max_disclosures,
            });
        }
        let salt = salt(&self.rng)?;
        let array = match name {
            Some(n) => json!([salt, n, value]),
            None => json!([salt, value]),
        };
        let encoded = b64url(array.to_string());
        let digest = sd_digest(&encoded);
        self.disclosures.push(Disclosure {
            encoded,
            digest: digest.clone(),
            salt,
            name: name.map(str::to_owned),
            value,
        });
        Ok(digest)
    }

    fn decoy(&self) -> Result<String, IssueError> {
        Ok(sd_digest(&salt(&self.rng)?))
    }
}

/// The paths (with their remaining segments) that continue below a member or element.
type Pending<'p> = Vec<(&'p ClaimPath, &'p [String])>;

fn conceal(value: Value, pending: &Pending<'_>, ctx: &mut Ctx<'_>) -> Result<Value, IssueError> {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            let mut digests = Vec::new();
            for (name, child) in map {
                if name == "_sd" || name == "..." {
                    return Err(IssueError::ReservedName(name));
                }
                let here: Pending<'_> = pending
                    .iter()
                    .filter(|(_, rest)| rest.first() == Some(&name))
                    .map(|(p, rest)| (*p, &rest[1..]))
                    .collect();
                let (ends, deeper): (Pending<'_>, Pending<'_>) =
                    here.into_iter().partition(|(_, rest)| rest.is_empty());
                let child = conceal(child, &deeper, ctx)?;
                if let Some((path, _)) = ends.first() {
                    ctx.matched.extend(ends.iter().map(|(p, _)| (*p).clone()));
                    if path.segments().len() == 1 && NEVER_DISCLOSABLE.contains(&name.as_str()) {
                        return Err(IssueError::NeverDisclosable(name));
                    }
                    digests.push(ctx.disclose(Some(&name), child)?);
                } else {
                    out.insert(name, child);
                }
            }
            if !digests.is_empty() {
                for _ in 0..ctx.decoys {
                    digests.push(ctx.decoy()?);
                }
                // Sorted, so the order of the digests says nothing about the order of the claims.
                digests.sort();
                out.insert("_sd".into(), json!(digests));
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                let index = i.to_string();
                let here: Pending<'_> = pending
                    .iter()
                    .filter(|(_, rest)| rest.first().is_some_and(|s| s == "*" || *s == index))
                    .map(|(p, rest)| (*p, &rest[1..]))
                    .collect();
                let (ends, deeper): (Pending<'_>, Pending<'_>) =
                    here.into_iter().partition(|(_, rest)| rest.is_empty());
                let item = conceal(item, &deeper, ctx)?;
                if ends.is_empty() {
                    out.push(item);
                } else {
                    ctx.matched.extend(ends.iter().map(|(p, _)| (*p).clone()));
                    let digest = ctx.disclose(None, item)?;
                    out.push(json!({"...": digest}));
                }
            }
            Ok(Value::Array(out))
        }
        scalar => Ok(scalar),
    }
}

/// Builds the issuer JWT's payload and the disclosures. Every path in `spec.disclosable` must
/// match at least one claim (a typo must not leave a claim always visible).
pub fn prepare(spec: &CredentialSpec, limits: &IssueLimits) -> Result<Prepared, IssueError> {
    for name in spec.claims.keys() {
        if REGISTERED_CLAIMS.contains(&name.as_str()) {
            return Err(IssueError::RegisteredClaim(name.clone()));
        }
    }
    let claims = Value::Object(spec.claims.clone());
    let len = claims.to_string().len();
    if len > limits.max_claims_bytes {
        return Err(IssueError::TooLarge {
            len,
            max: limits.max_claims_bytes,
        });
    }
    let depth = crate::json::depth(&claims);
    if depth > limits.max_depth {
        return Err(IssueError::TooDeep {
            depth,
            max: limits.max_depth,
        });
    }
    if spec.decoys > limits.max_decoys {
        return Err(IssueError::TooManyDecoys {
            count: spec.decoys,
            max: limits.max_decoys,
        });
    }
    if spec.disclosable.len() > limits.max_disclosures {
        return Err(IssueError::TooManyDisclosures {
            count: spec.disclosable.len(),
            max: limits.max_disclosures,
        });
    }
    for p in &spec.disclosable {
        if p.segments().is_empty() {
            return Err(IssueError::BadPath(p.to_string()));
        }
    }
    let mut ctx = Ctx {
        rng: SystemRandom::new(),
        limits,
        decoys: spec.decoys,
        disclosures: Vec::new(),
        matched: BTreeSet::new(),
    };
    let pending: Pending<'_> = spec.disclosable.iter().map(|p| (p, p.segments())).collect();
    let concealed = conceal(claims, &pending, &mut ctx)?;
    if let Some(missing) = spec.disclosable.iter().find(|p| !ctx.matched.contains(*p)) {
        return Err(IssueError::PathNotFound(missing.to_string()));
    }
    let Value::Object(mut payload) = concealed else {
        return Err(IssueError::BadPath("/".into()));
    };
    payload.insert("iss".into(), json!(spec.issuer));
    payload.insert("iat".into(), json!(spec.issued_at));
    if let Some(exp) = spec.expires_at {
        payload.insert("exp".into(), json!(exp));
    }
    if let Some(nbf) = spec.not_before {
        payload.insert("nbf".into(), json!(nbf));
    }
    if let Some(sub) = &spec.subject {
        payload.insert("sub".into(), json!(sub));
    }
    payload.insert("vct".into(), json!(spec.vct));
    payload.insert("cnf".into(), json!({"jwk": spec.holder.to_json()}));
    payload.insert("_sd_alg".into(), json!(SD_ALG));
    let payload = Value::Object(payload);
    let payload_bytes = payload.to_string().into_bytes();
    Ok(Prepared {
        payload,
        payload_bytes,
        disclosures: ctx.disclosures,
        typ: spec.typ,
    })
}

impl Prepared {
    /// Attaches the signer's compact JWS, after checking that it has three parts and that its
    /// payload part is exactly the prepared payload.
    pub fn finish(self, compact_jws: String) -> Result<SdJwtVc, IssueError> {
        let mut parts = compact_jws.split('.');
        let (Some(_header), Some(payload), Some(_sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(IssueError::SignerMismatch("not a compact JWS"));
        };
        if b64url_decode(payload).as_deref() != Some(self.payload_bytes.as_slice()) {
            return Err(IssueError::SignerMismatch("payload differs"));
        }
        Ok(SdJwtVc {
            issuer_jwt: compact_jws,
            disclosures: self.disclosures,
            payload: self.payload,
        })
    }
}

/// Prepares, signs through `signer` and assembles an SD-JWT VC.
pub async fn issue<S: JwsSigner>(
    spec: &CredentialSpec,
    limits: &IssueLimits,
    signer: &S,
) -> Result<SdJwtVc, IssueError> {
    let prepared = prepare(spec, limits)?;
    let jws = signer
        .sign_jws(prepared.typ, &prepared.payload_bytes)
        .await?;
    prepared.finish(jws)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::LocalSigner;

    fn spec(claims: Value, paths: &[&str]) -> CredentialSpec {
        let holder = LocalSigner::generate_es256().expect("key").jwk().clone();
        CredentialSpec {
            issuer: "https://ncp.example".into(),
            vct: "urn:eudi:elm:1".into(),
            issued_at: 1_700_000_000,
            expires_at: Some(1_800_000_000),
            not_before: None,
            subject: None,
            holder,
            claims: claims.as_object().cloned().unwrap_or_default(),
            disclosable: paths.iter().map(|p| p.parse().expect("path")).collect(),
            decoys: 0,
            typ: JwtType::DcSdJwt,
        }
    }

    fn decode(d: &Disclosure) -> Value {
        serde_json::from_slice(&b64url_decode(&d.encoded).expect("b64")).expect("json")
    }

    #[test]
    fn paths_parse_like_json_pointers() {
        let p: ClaimPath = "/a~1b/c~0d/*/0".parse().expect("path");
        assert_eq!(p.segments(), ["a/b", "c~d", "*", "0"]);
        assert_eq!(p.to_string(), "/a~1b/c~0d/*/0");
        assert!("a/b".parse::<ClaimPath>().is_err());
        assert!("/a~2".parse::<ClaimPath>().is_err());
    }

    #[test]
    fn object_members_array_elements_and_nesting() {
        let s = spec(
            json!({
                "name": "Anna",
                "address": {"street": "Main 1", "city": "Uppsala"},
                "courses": [{"title": "Algebra", "credits": 7.5}, {"title": "Logic", "credits": 5}],
            }),
            &[
                "/name",
                "/address",
                "/address/street",
                "/courses/*",
                "/courses/1/credits",
            ],
        );
        let p = prepare(&s, &IssueLimits::default()).expect("prepared");
        let payload = &p.payload;
        assert!(payload.get("name").is_none());
        assert!(payload.get("address").is_none());
        assert_eq!(payload["_sd"].as_array().map(Vec::len), Some(2));
        assert_eq!(payload["_sd_alg"], "sha-256");
        assert_eq!(payload["vct"], "urn:eudi:elm:1");
        assert_eq!(payload["cnf"]["jwk"], s.holder.to_json());
        let courses = payload["courses"].as_array().expect("array stays");
        assert_eq!(courses.len(), 2);
        assert!(courses.iter().all(|c| c["..."].is_string()));
        assert_eq!(p.disclosures.len(), 6);
        // every digest is the hash of its disclosure and appears exactly where it belongs
        for d in &p.disclosures {
            assert_eq!(d.digest, sd_digest(&d.encoded));
            let arr = decode(d);
            assert_eq!(arr[0], d.salt);
            assert_eq!(b64url_decode(&d.salt).map(|s| s.len()), Some(16));
        }
        let address = p
            .disclosures
            .iter()
            .find(|d| d.name.as_deref() == Some("address"))
            .expect("address disclosure");
        assert_eq!(address.value["city"], "Uppsala");
        assert!(address.value.get("street").is_none());
        assert_eq!(address.value["_sd"].as_array().map(Vec::len), Some(1));
        let second = p
            .disclosures
            .iter()
            .find(|d| d.name.is_none() && d.value["title"] == "Logic")
            .expect("second course");
        assert!(second.value.get("credits").is_none());
        assert_eq!(decode(second).as_array().map(Vec::len), Some(2));
        let first = p
            .disclosures
            .iter()
            .find(|d| d.name.is_none() && d.value["title"] == "Algebra")
            .expect("first course");
        assert_eq!(first.value["credits"], 7.5);
        // salts differ
        let salts: BTreeSet<_> = p.disclosures.iter().map(|d| &d.salt).collect();
        assert_eq!(salts.len(), p.disclosures.len());
    }

    #[test]
    fn decoys_and_sorted_digests() {
        let mut s = spec(json!({"a": 1, "b": 2, "c": 3}), &["/a", "/b"]);
        s.decoys = 3;
        let p = prepare(&s, &IssueLimits::default()).expect("prepared");
        let sd: Vec<&str> = p.payload["_sd"]
            .as_array()
            .expect("_sd")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(sd.len(), 5);
        assert!(sd.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(p.payload["c"], 3);
    }

    #[test]
    fn refusals() {
        let limits = IssueLimits::default();
        let e = prepare(&spec(json!({"a": 1}), &["/b"]), &limits);
        assert!(matches!(e, Err(IssueError::PathNotFound(p)) if p == "/b"));
        let e = prepare(&spec(json!({"iss": "x"}), &[]), &limits);
        assert!(matches!(e, Err(IssueError::RegisteredClaim(_))));
        let e = prepare(&spec(json!({"status": {}}), &["/status"]), &limits);
        assert!(matches!(e, Err(IssueError::NeverDisclosable(_))));
        let e = prepare(&spec(json!({"a": {"_sd": []}}), &[]), &limits);
        assert!(matches!(e, Err(IssueError::ReservedName(_))));
        let e = prepare(&spec(json!({"a": [1, 2]}), &["/a/2"]), &limits);
        assert!(matches!(e, Err(IssueError::PathNotFound(_))));
        let mut deep = json!(1);
        for _ in 0..20 {
            deep = json!({ "x": deep });
        }
        let e = prepare(&spec(json!({"d": deep}), &[]), &limits);
        assert!(matches!(e, Err(IssueError::TooDeep { .. })));
        let big = "x".repeat(600 * 1024);
        let e = prepare(&spec(json!({"big": big}), &[]), &limits);
        assert!(matches!(e, Err(IssueError::TooLarge { .. })));
        let many: Vec<i32> = (0..2000).collect();
        let e = prepare(&spec(json!({"many": many}), &["/many/*"]), &limits);
        assert!(matches!(e, Err(IssueError::TooManyDisclosures { .. })));
        let mut s = spec(json!({"a": 1}), &["/a"]);
        s.decoys = 100;
        assert!(matches!(
            prepare(&s, &limits),
            Err(IssueError::TooManyDecoys { .. })
        ));
    }

    #[tokio::test]
    async fn finish_refuses_a_swapped_payload() {
        let s = spec(json!({"a": 1}), &["/a"]);
        let signer = LocalSigner::generate_es256().expect("key");
        let ok = issue(&s, &IssueLimits::default(), &signer)
            .await
            .expect("issued");
        let text = ok.to_string();
        assert!(text.ends_with('~'));
        assert_eq!(text.matches('~').count(), 2);
        let p = prepare(&s, &IssueLimits::default()).expect("prepared");
        let other = signer
            .sign_jws(JwtType::DcSdJwt, br#"{"a":2}"#)
            .await
            .expect("signed");
        assert!(matches!(
            p.clone().finish(other),
            Err(IssueError::SignerMismatch(_))
        ));
        assert!(matches!(
            p.finish("a.b".into()),
            Err(IssueError::SignerMismatch(_))
        ));
    }
}
