//! The EMREX enveloped-signature profile: signing, and verification against pinned certificates.
//!
//! Verification implements rules R1–R8 of the project's security model (docs/security.md):
//!
//! * R1 trust: only the caller's pinned certificates are tried; `KeyInfo` is never used to pick a
//!   key (it is only compared, and reported).
//! * R2 shape: exactly one `ds:Signature`, the last child element of the root; exactly one
//!   `SignedInfo`, `SignatureValue`, at most one `KeyInfo`, no `Object`; exactly one `Reference`
//!   with `URI=""`; no other XML-Signature element anywhere in the document.
//! * R3 algorithms: an allow-list (C14N 1.0 inclusive/exclusive without comments, enveloped
//!   signature, RSA-SHA256, ECDSA-P256-SHA256, SHA-256); RSA-SHA1, SHA-1 and RSA keys below 2048
//!   bits only under [`Policy::allow_legacy`].
//! * R4/R5 see what is signed: the verified [`Document`] is returned, and callers read business
//!   data from that same tree, produced by the one strict parser (no DTD, UTF-8 only).
//! * R6 fail closed: anything unexpected is an error with a reason.
//! * R7 budgets: the parser's [`Limits`]; everything after parsing is linear in the document.

use base64::Engine;

use crate::NS_DSIG;
use crate::c14n::{self, Mode};
use crate::dom::{self, Document, Element, Limits, Node, ParseError};
use crate::keys::{KeyError, KeyType, PinnedCert, SigningKey};

/// The canonicalization method (an alias of [`c14n::Mode`]).
pub type C14nMethod = Mode;

const C14N_INCL: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
const C14N_EXCL: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
const DIGEST_SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const DIGEST_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";

/// The signature algorithms of the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureAlgorithm {
    RsaSha256,
    EcdsaP256Sha256,
    /// Legacy: still sent by several EMREX providers; accepted only with [`Policy::allow_legacy`].
    RsaSha1,
}

impl SignatureAlgorithm {
    /// The algorithm's XML-Signature URI.
    pub fn uri(self) -> &'static str {
        match self {
            Self::RsaSha256 => RSA_SHA256,
            Self::EcdsaP256Sha256 => ECDSA_SHA256,
            Self::RsaSha1 => RSA_SHA1,
        }
    }

    fn from_uri(uri: &str) -> Option<Self> {
        match uri {
            RSA_SHA256 => Some(Self::RsaSha256),
            ECDSA_SHA256 => Some(Self::EcdsaP256Sha256),
            RSA_SHA1 => Some(Self::RsaSha1),
            _ => None,
        }
    }
}

/// The digest algorithms of the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    Sha256,
    /// Legacy, see [`SignatureAlgorithm::RsaSha1`].
    Sha1,
}

impl DigestAlgorithm {
    /// The algorithm's XML-Signature URI.
    pub fn uri(self) -> &'static str {
        match self {
            Self::Sha256 => DIGEST_SHA256,
            Self::Sha1 => DIGEST_SHA1,
        }
    }

    fn from_uri(uri: &str) -> Option<Self> {
        match uri {
            DIGEST_SHA256 => Some(Self::Sha256),
            DIGEST_SHA1 => Some(Self::Sha1),
            _ => None,
        }
    }

    fn aws(self) -> &'static aws_lc_rs::digest::Algorithm {
        match self {
            Self::Sha256 => &aws_lc_rs::digest::SHA256,
            Self::Sha1 => &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        }
    }
}

fn c14n_from_uri(uri: &str) -> Option<Mode> {
    match uri {
        C14N_INCL => Some(Mode::Inclusive),
        C14N_EXCL => Some(Mode::Exclusive),
        _ => None,
    }
}

fn c14n_uri(mode: Mode) -> &'static str {
    match mode {
        Mode::Inclusive => C14N_INCL,
        Mode::Exclusive => C14N_EXCL,
    }
}

/// The algorithms a verified signature used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Algorithms {
    /// How `SignedInfo` was canonicalized.
    pub signed_info_c14n: Mode,
    /// How the document was canonicalized for the digest (inclusive unless a transform says
    /// otherwise).
    pub reference_c14n: Mode,
    pub signature: SignatureAlgorithm,
    pub digest: DigestAlgorithm,
}

impl Algorithms {
    /// True when a legacy algorithm (SHA-1) was used.
    pub fn is_legacy(&self) -> bool {
        self.signature == SignatureAlgorithm::RsaSha1 || self.digest == DigestAlgorithm::Sha1
    }
}

/// What verification accepts beyond the modern profile, and the parser's budgets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    /// Accept RSA-SHA1 signatures, SHA-1 digests and RSA keys of 1024–2047 bits. Set it only for
    /// a provider its registry entry flags as legacy.
    pub allow_legacy: bool,
    /// Parser limits.
    pub limits: Limits,
}

/// A document whose signature verified. Only [`verify`] and [`verify_document`] make one (the
/// fields are private), so a function that takes `&Verified` — `emrex_elmo::from_verified` —
/// can only ever read a tree whose signature was checked: the compiler guards it.
///
/// Swapping the tree of a verified document does not compile:
///
/// ```compile_fail
/// fn forge(v: &mut emrex_xmldsig::Verified, other: emrex_xmldsig::dom::Document) {
///     v.document = other;
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Verified {
    document: Document,
    signer_index: usize,
    signer: PinnedCert,
    algorithms: Algorithms,
    keyinfo_matches_signer: Option<bool>,
}

impl Verified {
    /// The tree that was verified. Read business data from here and nowhere else.
    pub fn document(&self) -> &Document {
        &self.document
    }

    /// Index (into the pinned certificates given) of the certificate that verified.
    pub fn signer_index(&self) -> usize {
        self.signer_index
    }

    /// The certificate that verified.
    pub fn signer(&self) -> &PinnedCert {
        &self.signer
    }

    /// The algorithms the signature used.
    pub fn algorithms(&self) -> Algorithms {
        self.algorithms
    }

    /// Whether the certificate in `KeyInfo` (if any) is the pinned one that verified. It played
    /// no part in the decision; a mismatch is worth logging (a provider rotated keys, or an
    /// attack).
    pub fn keyinfo_matches_signer(&self) -> Option<bool> {
        self.keyinfo_matches_signer
    }
}

/// Why a document did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("not well-formed or refused by the parser: {0}")]
    Parse(ParseError),
    #[error("no pinned certificate was given to verify with")]
    NoPinnedCertificates,
    #[error("the document is not signed (no ds:Signature)")]
    NoSignature,
    #[error("the document has {0} ds:Signature elements; exactly one is allowed")]
    MultipleSignatures(usize),
    #[error("ds:Signature must be the last child element of the root element")]
    SignatureMisplaced,
    #[error("XML-Signature element ds:{0} found outside the signature")]
    StrayDsigElement(String),
    #[error("malformed signature: {0}")]
    Shape(String),
    #[error("{role} algorithm {uri:?} is not allowed")]
    UnsupportedAlgorithm { role: &'static str, uri: String },
    #[error(
        "legacy algorithm {0:?} is not allowed for this provider (SHA-1 needs an explicit legacy flag)"
    )]
    LegacyNotAllowed(String),
    #[error(
        "the signature is not over the whole document: Reference URI must be \"\", found {0:?}"
    )]
    ReferenceUri(String),
    #[error("transforms not allowed: {0}")]
    Transforms(String),
    #[error("{0} is not valid base64")]
    BadBase64(&'static str),
    #[error("the document was changed after signing (digest mismatch)")]
    DigestMismatch,
    #[error("no pinned certificate is acceptable for {alg:?}: {reason}")]
    NoAcceptableKey {
        alg: SignatureAlgorithm,
        reason: String,
    },
    #[error("the signature does not verify with any of the {0} pinned certificate(s)")]
    SignatureInvalid(usize),
}

// The parser's message is printed in the variant's, so it is not also a `source`.
impl From<ParseError> for VerifyError {
    fn from(e: ParseError) -> Self {
        Self::Parse(e)
    }
}

/// Verifies `bytes` against the pinned certificates.
pub fn verify(
    bytes: &[u8],
    certs: &[PinnedCert],
    policy: &Policy,
) -> Result<Verified, VerifyError> {
    if certs.is_empty() {
        return Err(VerifyError::NoPinnedCertificates);
    }
    let doc = dom::parse(bytes, &policy.limits)?;
    verify_document(doc, certs, policy)
}

/// Verifies an already parsed document (parsed with [`dom::parse`]).
pub fn verify_document(
    document: Document,
    certs: &[PinnedCert],
    policy: &Policy,
) -> Result<Verified, VerifyError> {
    if certs.is_empty() {
        return Err(VerifyError::NoPinnedCertificates);
    }
    let (sig_index, sig) = locate_signature(&document)?;
    let parts = SignatureParts::read(sig)?;
    let algorithms = parts.algorithms(policy)?;

    // Digest of the document without the Signature element (the enveloped transform), comments
    // removed (URI=""), canonicalized as the transform list says.
    let mut ctx = aws_lc_rs::digest::Context::new(algorithms.digest.aws());
    c14n::document_into(&document, algorithms.reference_c14n, Some(sig), &mut ctx);
    if ctx.finish().as_ref() != parts.digest_value.as_slice() {
        return Err(VerifyError::DigestMismatch);
    }

    let mut signed_info = Vec::new();
    c14n::subtree_into(
        &document,
        &[sig_index, 0],
        algorithms.signed_info_c14n,
        &mut signed_info,
    )
    .ok_or_else(|| VerifyError::Shape("SignedInfo not found".into()))?;

    let mut rejected: Vec<String> = Vec::new();
    let mut tried = 0;
    for (i, cert) in certs.iter().enumerate() {
        let params = match verification_algorithm(algorithms.signature, cert.key_type(), policy) {
            Ok(p) => p,
            Err(reason) => {
                rejected.push(reason);
                continue;
            }
        };
        tried += 1;
        let key = aws_lc_rs::signature::UnparsedPublicKey::new(params, cert.public_key());
        if key.verify(&signed_info, &parts.signature_value).is_ok() {
            let keyinfo_matches_signer = parts.keyinfo_cert.as_ref().map(|der| der == cert.der());
            return Ok(Verified {
                signer_index: i,
                signer: cert.clone(),
                algorithms,
                keyinfo_matches_signer,
                document,
            });
        }
    }
    if tried == 0 {
        return Err(VerifyError::NoAcceptableKey {
            alg: algorithms.signature,
            reason: rejected.join("; "),
        });
    }
    Err(VerifyError::SignatureInvalid(certs.len()))
}

fn verification_algorithm(
    alg: SignatureAlgorithm,
    key: KeyType,
    policy: &Policy,
) -> Result<&'static dyn aws_lc_rs::signature::VerificationAlgorithm, String> {
    use aws_lc_rs::signature as s;
    match (alg, key) {
        (SignatureAlgorithm::EcdsaP256Sha256, KeyType::EcP256) => Ok(&s::ECDSA_P256_SHA256_FIXED),
        (SignatureAlgorithm::RsaSha256 | SignatureAlgorithm::RsaSha1, KeyType::Rsa(bits)) => {
            if bits > 8192 {
                return Err(format!("RSA-{bits} is larger than 8192 bits"));
            }
            if bits < 1024 || (bits < 2048 && !policy.allow_legacy) {
                return Err(format!(
                    "RSA-{bits} is too small (2048 bits needed{})",
                    if bits >= 1024 {
                        "; 1024 only for legacy providers"
                    } else {
                        ""
                    }
                ));
            }
            Ok(match (alg, bits >= 2048) {
                (SignatureAlgorithm::RsaSha256, true) => &s::RSA_PKCS1_2048_8192_SHA256,
                (SignatureAlgorithm::RsaSha256, false) => {
                    &s::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY
                }
                (_, true) => &s::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
                (_, false) => &s::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
            })
        }
        (alg, key) => Err(format!("a {key} certificate cannot verify {}", alg.uri())),
    }
}

/// Finds the one Signature (R2) and returns its index among the root's child elements.
fn locate_signature(doc: &Document) -> Result<(usize, &Element), VerifyError> {
    if doc.root.namespace.as_deref() == Some(NS_DSIG) {
        return Err(VerifyError::Shape(
            "the root element is an XML-Signature element".into(),
        ));
    }
    let mut signatures = 0usize;
    let mut dsig_elements = 0usize;
    let mut first_stray: Option<String> = None;
    for e in doc.root.descendants() {
        if e.namespace.as_deref() == Some(NS_DSIG) {
            dsig_elements += 1;
            if e.name.local == "Signature" {
                signatures += 1;
            } else if first_stray.is_none() {
                first_stray = Some(e.name.local.clone());
            }
        }
    }
    match signatures {
        0 => return Err(VerifyError::NoSignature),
        1 => {}
        n => return Err(VerifyError::MultipleSignatures(n)),
    }
    let mut found: Option<(usize, usize)> = None; // (element index, node index)
    for (node_index, (element_index, e)) in doc
        .root
        .children
        .iter()
        .enumerate()
        .filter_map(|(ni, n)| match n {
            Node::Element(e) => Some((ni, e)),
            _ => None,
        })
        .enumerate()
        .map(|(ei, (ni, e))| (ni, (ei, e)))
    {
        if e.is(NS_DSIG, "Signature") {
            found = Some((element_index, node_index));
        }
    }
    let Some((element_index, node_index)) = found else {
        return Err(VerifyError::SignatureMisplaced);
    };
    // Nothing but whitespace may follow it.
    for n in &doc.root.children[node_index + 1..] {
        match n {
            Node::Text(t) if t.chars().all(|c| matches!(c, ' ' | '\t' | '\n' | '\r')) => {}
            _ => return Err(VerifyError::SignatureMisplaced),
        }
    }
    let Some(Node::Element(sig)) = doc.root.children.get(node_index) else {
        return Err(VerifyError::SignatureMisplaced);
    };
    let inside = sig
        .descendants()
        .filter(|e| e.namespace.as_deref() == Some(NS_DSIG))
        .count();
    if inside != dsig_elements {
        // Some XML-Signature element lives outside the signature (CVE-2024-45409 shape).
        let outside = doc
            .root
            .children
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != node_index)
            .filter_map(|(_, n)| match n {
                Node::Element(e) => Some(e),
                _ => None,
            })
            .flat_map(|e| e.descendants())
            .find(|e| e.namespace.as_deref() == Some(NS_DSIG))
            .map(|e| e.name.local.clone())
            .or(first_stray)
            .unwrap_or_default();
        return Err(VerifyError::StrayDsigElement(outside));
    }
    Ok((element_index, sig))
}

/// The values read from a Signature element that passed the shape checks.
struct SignatureParts {
    c14n_uri: String,
    signature_uri: String,
    transforms: Vec<String>,
    digest_uri: String,
    digest_value: Vec<u8>,
    signature_value: Vec<u8>,
    keyinfo_cert: Option<Vec<u8>>,
}

fn shape(msg: impl Into<String>) -> VerifyError {
    VerifyError::Shape(msg.into())
}

/// The element children of `el`, refusing non-whitespace text, comments and PIs between them.
fn element_children(el: &Element) -> Result<Vec<&Element>, VerifyError> {
    let mut out = Vec::new();
    for n in &el.children {
        match n {
            Node::Element(e) => {
                if e.namespace.as_deref() != Some(NS_DSIG) {
                    return Err(shape(format!(
                        "unexpected element {} in ds:{}",
                        e.name, el.name.local
                    )));
                }
                out.push(e);
            }
            Node::Text(t) if t.chars().all(|c| matches!(c, ' ' | '\t' | '\n' | '\r')) => {}
            Node::Text(_) => return Err(shape(format!("unexpected text in ds:{}", el.name.local))),
            Node::Comment(_) | Node::Pi(_) => {
                return Err(shape(format!(
                    "comments and processing instructions are not allowed in ds:{}",
                    el.name.local
                )));
            }
        }
    }
    Ok(out)
}

/// Only the listed unqualified attributes may appear.
fn only_attributes(el: &Element, allowed: &[&str]) -> Result<(), VerifyError> {
    for a in &el.attributes {
        if a.namespace.is_some() || !allowed.contains(&a.name.local.as_str()) {
            return Err(shape(format!(
                "attribute {} is not allowed on ds:{}",
                a.name, el.name.local
            )));
        }
    }
    Ok(())
}

/// An element that must hold nothing (an algorithm identifier).
fn algorithm_of(el: &Element) -> Result<String, VerifyError> {
    only_attributes(el, &["Algorithm"])?;
    if let Some(child) = element_children(el)?.first() {
        return Err(shape(format!(
            "ds:{} must be empty, found ds:{} (parameters such as InclusiveNamespaces, \
             HMACOutputLength or XPath are not part of the EMREX profile)",
            el.name.local, child.name.local
        )));
    }
    el.attr("Algorithm")
        .map(str::to_string)
        .ok_or_else(|| shape(format!("ds:{} has no Algorithm", el.name.local)))
}

/// Base64 content of a leaf element: text only, whitespace removed.
fn base64_of(el: &Element, what: &'static str) -> Result<Vec<u8>, VerifyError> {
    if el.has_non_text_children() {
        return Err(shape(format!("{what} must contain only text")));
    }
    let text: String = el
        .text()
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    if text.is_empty() {
        return Err(shape(format!("{what} is empty")));
    }
    base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map_err(|_| VerifyError::BadBase64(what))
}

fn expect_named<'a>(
    el: Option<&&'a Element>,
    local: &str,
    ctx: &str,
) -> Result<&'a Element, VerifyError> {
    match el {
        Some(e) if e.name.local == local => Ok(e),
        Some(e) => Err(shape(format!(
            "expected ds:{local} in {ctx}, found ds:{}",
            e.name.local
        ))),
        None => Err(shape(format!("ds:{local} missing in {ctx}"))),
    }
}

impl SignatureParts {
    fn read(sig: &Element) -> Result<Self, VerifyError> {
        only_attributes(sig, &["Id"])?;
        let kids = element_children(sig)?;
        let signed_info = expect_named(kids.first(), "SignedInfo", "ds:Signature")?;
        let sig_value_el = expect_named(kids.get(1), "SignatureValue", "ds:Signature")?;
        let key_info = match kids.get(2) {
            None => None,
            Some(e) if e.name.local == "KeyInfo" => Some(*e),
            Some(e) => {
                return Err(shape(format!(
                    "ds:{} is not allowed in ds:Signature (no Object or Manifest in the EMREX profile)",
                    e.name.local
                )));
            }
        };
        if let Some(extra) = kids.get(3) {
            return Err(shape(format!(
                "ds:{} is not allowed in ds:Signature (no Object or Manifest in the EMREX profile)",
                extra.name.local
            )));
        }

        only_attributes(signed_info, &["Id"])?;
        let si = element_children(signed_info)?;
        let c14n_uri = algorithm_of(expect_named(
            si.first(),
            "CanonicalizationMethod",
            "ds:SignedInfo",
        )?)?;
        let signature_uri =
            algorithm_of(expect_named(si.get(1), "SignatureMethod", "ds:SignedInfo")?)?;
        let references: Vec<_> = si.iter().skip(2).collect();
        if references.iter().any(|e| e.name.local != "Reference") {
            return Err(shape(
                "ds:SignedInfo may hold only CanonicalizationMethod, SignatureMethod and Reference",
            ));
        }
        if references.len() != 1 {
            return Err(shape(format!(
                "ds:SignedInfo must hold exactly one ds:Reference, found {}",
                references.len()
            )));
        }
        let reference = *references[0];
        only_attributes(reference, &["URI", "Id"])?;
        match reference.attr("URI") {
            Some("") => {}
            Some(other) => return Err(VerifyError::ReferenceUri(other.to_string())),
            None => return Err(VerifyError::ReferenceUri("<absent>".into())),
        }
        let rk = element_children(reference)?;
        let transforms_el = expect_named(rk.first(), "Transforms", "ds:Reference")?;
        let digest_method = expect_named(rk.get(1), "DigestMethod", "ds:Reference")?;
        let digest_value_el = expect_named(rk.get(2), "DigestValue", "ds:Reference")?;
        if rk.len() > 3 {
            return Err(shape("unexpected elements after ds:DigestValue"));
        }
        only_attributes(transforms_el, &[])?;
        let mut transforms = Vec::new();
        for t in element_children(transforms_el)? {
            if t.name.local != "Transform" {
                return Err(shape(format!("ds:{} in ds:Transforms", t.name.local)));
            }
            transforms.push(algorithm_of(t)?);
        }
        let digest_uri = algorithm_of(digest_method)?;
        only_attributes(digest_value_el, &[])?;
        let digest_value = base64_of(digest_value_el, "DigestValue")?;
        only_attributes(sig_value_el, &["Id"])?;
        let signature_value = base64_of(sig_value_el, "SignatureValue")?;
        let keyinfo_cert = match key_info {
            Some(k) => read_key_info(k)?,
            None => None,
        };
        Ok(Self {
            c14n_uri,
            signature_uri,
            transforms,
            digest_uri,
            digest_value,
            signature_value,
            keyinfo_cert,
        })
    }

    fn algorithms(&self, policy: &Policy) -> Result<Algorithms, VerifyError> {
        let signed_info_c14n =
            c14n_from_uri(&self.c14n_uri).ok_or_else(|| VerifyError::UnsupportedAlgorithm {
                role: "canonicalization",
                uri: self.c14n_uri.clone(),
            })?;
        let signature = SignatureAlgorithm::from_uri(&self.signature_uri).ok_or_else(|| {
            VerifyError::UnsupportedAlgorithm {
                role: "signature",
                uri: self.signature_uri.clone(),
            }
        })?;
        let digest = DigestAlgorithm::from_uri(&self.digest_uri).ok_or_else(|| {
            VerifyError::UnsupportedAlgorithm {
                role: "digest",
                uri: self.digest_uri.clone(),
            }
        })?;
        let reference_c14n = match self.transforms.as_slice() {
            [e] if e == ENVELOPED => Mode::Inclusive,
            [e, c] if e == ENVELOPED => c14n_from_uri(c).ok_or_else(|| {
                VerifyError::Transforms(format!(
                    "only enveloped-signature then C14N 1.0 are allowed, found {c:?}"
                ))
            })?,
            [] => {
                return Err(VerifyError::Transforms(
                    "no transforms; enveloped-signature is required".into(),
                ));
            }
            list => {
                return Err(VerifyError::Transforms(format!(
                    "expected enveloped-signature optionally followed by one C14N 1.0 transform, found {list:?}"
                )));
            }
        };
        if !policy.allow_legacy {
            if signature == SignatureAlgorithm::RsaSha1 {
                return Err(VerifyError::LegacyNotAllowed(self.signature_uri.clone()));
            }
            if digest == DigestAlgorithm::Sha1 {
                return Err(VerifyError::LegacyNotAllowed(self.digest_uri.clone()));
            }
        }
        let expected_len = match digest {
            DigestAlgorithm::Sha256 => 32,
            DigestAlgorithm::Sha1 => 20,
        };
        if self.digest_value.len() != expected_len {
            return Err(shape(format!(
                "DigestValue has {} bytes, {} expected",
                self.digest_value.len(),
                expected_len
            )));
        }
        Ok(Algorithms {
            signed_info_c14n,
            reference_c14n,
            signature,
            digest,
        })
    }
}

/// Reads KeyInfo only to report whether its certificate is the pinned one; refuses indirections
/// a careless verifier would follow (RetrievalMethod and anything unknown).
fn read_key_info(k: &Element) -> Result<Option<Vec<u8>>, VerifyError> {
    only_attributes(k, &["Id"])?;
    let mut cert = None;
    for child in element_children(k)? {
        match child.name.local.as_str() {
            "KeyName" | "KeyValue" => {}
            "X509Data" => {
                for x in element_children(child)? {
                    match x.name.local.as_str() {
                        "X509Certificate" => {
                            if cert.is_none() {
                                cert = Some(base64_of(x, "X509Certificate")?);
                            }
                        }
                        "X509SubjectName" | "X509IssuerSerial" | "X509SKI" | "X509CRL" => {}
                        other => {
                            return Err(shape(format!("ds:{other} is not allowed in ds:X509Data")));
                        }
                    }
                }
            }
            other => {
                return Err(shape(format!(
                    "ds:{other} is not allowed in ds:KeyInfo (keys come from the registry, never from the document)"
                )));
            }
        }
    }
    Ok(cert)
}

/// How to sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignOptions {
    /// Canonicalization of `SignedInfo` and of the document. Inclusive is what the deployed Java
    /// peers emit; exclusive verifies everywhere too.
    pub c14n: C14nMethod,
    /// Parser limits for the unsigned input.
    pub limits: Limits,
}

impl Default for SignOptions {
    fn default() -> Self {
        Self {
            c14n: Mode::Inclusive,
            limits: Limits::default(),
        }
    }
}

/// Why signing failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("the document cannot be parsed: {0}")]
    Parse(ParseError),
    #[error("the document already contains an XML signature")]
    AlreadySigned,
    #[error("the root element is empty (written as <{0}/>); nothing to sign")]
    EmptyRoot(String),
    #[error("key error: {0}")]
    Key(KeyError),
    #[error("internal error: the signature just made does not verify ({0})")]
    SelfCheck(String),
}

// Printed in the variants' messages, so not also `source`s.
impl From<ParseError> for SignError {
    fn from(e: ParseError) -> Self {
        Self::Parse(e)
    }
}

impl From<KeyError> for SignError {
    fn from(e: KeyError) -> Self {
        Self::Key(e)
    }
}

/// Signs a document with an enveloped signature appended as the last child of the root.
///
/// The output is the input with the `ds:Signature` element inserted before the root's end tag;
/// every other byte is unchanged, so what the caller built is exactly what is signed and sent.
/// The result is verified before it is returned.
pub fn sign(
    unsigned: &[u8],
    key: &SigningKey,
    options: &SignOptions,
) -> Result<Vec<u8>, SignError> {
    let doc = dom::parse(unsigned, &options.limits)?;
    if doc.root.descendants().any(|e| e.is(NS_DSIG, "Signature")) {
        return Err(SignError::AlreadySigned);
    }
    let offset = doc
        .root_end_offset
        .ok_or_else(|| SignError::EmptyRoot(doc.root.name.to_string()))?;

    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    c14n::document_into(&doc, options.c14n, None, &mut ctx);
    let b64 = base64::engine::general_purpose::STANDARD;
    let digest_b64 = b64.encode(ctx.finish().as_ref());

    let cert = key.certificate();
    let sig_alg = match cert.key_type() {
        KeyType::Rsa(_) => SignatureAlgorithm::RsaSha256,
        KeyType::EcP256 => SignatureAlgorithm::EcdsaP256Sha256,
    };
    let c14n = c14n_uri(options.c14n);
    let explicit_c14n = match options.c14n {
        // Inclusive C14N is the default after the enveloped transform; peers list only that.
        Mode::Inclusive => String::new(),
        Mode::Exclusive => format!(r#"<ds:Transform Algorithm="{c14n}"/>"#),
    };
    let head = format!(
        r#"<ds:Signature xmlns:ds="{NS_DSIG}"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="{c14n}"/><ds:SignatureMethod Algorithm="{sig}"/><ds:Reference URI=""><ds:Transforms><ds:Transform Algorithm="{ENVELOPED}"/>{explicit_c14n}</ds:Transforms><ds:DigestMethod Algorithm="{dig}"/><ds:DigestValue>{digest_b64}</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>"#,
        sig = sig_alg.uri(),
        dig = DIGEST_SHA256,
    );
    let tail = format!(
        r#"</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509SubjectName>{subject}</ds:X509SubjectName><ds:X509Certificate>{cert_b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>"#,
        subject = escape_text(cert.subject()),
        cert_b64 = b64.encode(cert.der()),
    );

    let (before, after) = unsigned.split_at(offset);
    let assemble = |value: &str| {
        let mut out = Vec::with_capacity(unsigned.len() + head.len() + tail.len() + value.len());
        out.extend_from_slice(before);
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(tail.as_bytes());
        out.extend_from_slice(after);
        out
    };

    // Canonicalize SignedInfo in its final context. All an enveloped Signature inherits from the
    // document is the root's namespace declarations and xml:* attributes, so a stand-in root with
    // just those around the Signature gives the same canonical bytes without parsing the whole
    // document again.
    let draft = dom::parse(
        stand_in(&doc.root, &head, "", &tail).as_bytes(),
        &options.limits,
    )?;
    let mut signed_info = Vec::new();
    c14n::subtree_into(&draft, &[0, 0], options.c14n, &mut signed_info)
        .ok_or_else(|| SignError::SelfCheck("SignedInfo not found in draft".into()))?;
    let value = b64.encode(key.sign_sha256(&signed_info)?);
    let signed = assemble(&value);

    // The self-check: the verifier's own path (signature located and shape-checked, enveloped
    // transform, digest, SignedInfo canonicalized in the document's real context, the signature
    // checked with the certificate's public key) run over the document as the output parses —
    // the input's tree with the finished Signature appended as the root's last child — instead of
    // parsing the output again: the input was parsed once already and the output differs from it
    // only by the Signature inserted before the root's end tag (the splice point is checked here).
    let end_tag = format!("</{}", doc.root.name);
    if !after.starts_with(end_tag.as_bytes()) {
        return Err(SignError::SelfCheck(format!(
            "the root's end tag is not at byte {offset}"
        )));
    }
    let finished = dom::parse(
        stand_in(&doc.root, &head, &value, &tail).as_bytes(),
        &options.limits,
    )?;
    let Some(Node::Element(signature)) = finished.root.children.into_iter().next() else {
        return Err(SignError::SelfCheck(
            "the Signature is missing from its stand-in".into(),
        ));
    };
    let mut doc = doc;
    doc.root.children.push(Node::Element(signature));
    let policy = Policy {
        allow_legacy: false,
        limits: options.limits,
    };
    verify_document(doc, std::slice::from_ref(cert), &policy)
        .map_err(|e| SignError::SelfCheck(e.to_string()))?;
    Ok(signed)
}

/// `<root …context…>{head}{value}{tail}</root>`: the Signature inside a root element carrying
/// only what the Signature inherits from the real root (its namespace declarations and `xml:*`
/// attributes), so the Signature parses and canonicalizes as it does in the signed document.
fn stand_in(root: &Element, head: &str, value: &str, tail: &str) -> String {
    let mut s = String::with_capacity(head.len() + value.len() + tail.len() + 256);
    s.push('<');
    s.push_str(&root.name.to_string());
    for d in &root.ns_decls {
        match &d.prefix {
            Some(p) => s.push_str(&format!(" xmlns:{p}=\"{}\"", escape_attr(&d.uri))),
            None => s.push_str(&format!(" xmlns=\"{}\"", escape_attr(&d.uri))),
        }
    }
    for a in &root.attributes {
        if a.namespace.as_deref() == Some(dom::NS_XML) {
            s.push_str(&format!(
                " xml:{}=\"{}\"",
                a.name.local,
                escape_attr(&a.value)
            ));
        }
    }
    s.push('>');
    s.push_str(head);
    s.push_str(value);
    s.push_str(tail);
    s.push_str(&format!("</{}>", root.name));
    s
}

fn escape_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn escape_attr(s: &str) -> String {
    escape_text(s)
        .replace('"', "&quot;")
        .replace('\t', "&#x9;")
        .replace('\n', "&#xA;")
        .replace('\r', "&#xD;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rsa_key() -> SigningKey {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("rsa keygen");
        let cert = rcgen::CertificateParams::new(vec!["emp.test.invalid".into()])
            .expect("params")
            .self_signed(&key)
            .expect("cert");
        SigningKey::from_pem(key.serialize_pem().as_bytes(), cert.pem().as_bytes()).expect("load")
    }

    fn ec_key() -> SigningKey {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("keygen");
        let cert = rcgen::CertificateParams::new(vec!["emp.test.invalid".into()])
            .expect("params")
            .self_signed(&key)
            .expect("cert");
        SigningKey::from_pem(key.serialize_pem().as_bytes(), cert.pem().as_bytes()).expect("load")
    }

    const DOC: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<elmo xmlns=\"urn:e\" xmlns:x=\"urn:x\">\n  <learner><givenNames>Ada</givenNames></learner>\n</elmo>\n";

    #[test]
    fn sign_then_verify_both_modes_and_key_types() {
        for key in [rsa_key(), ec_key()] {
            for c14n in [Mode::Inclusive, Mode::Exclusive] {
                let opts = SignOptions {
                    c14n,
                    ..SignOptions::default()
                };
                let signed = sign(DOC.as_bytes(), &key, &opts).expect("sign");
                let text = String::from_utf8(signed.clone()).expect("utf8");
                assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<elmo"));
                assert!(text.ends_with("</ds:Signature></elmo>\n"));
                let v = verify(
                    &signed,
                    std::slice::from_ref(key.certificate()),
                    &Policy::default(),
                )
                .expect("verify");
                assert_eq!(v.algorithms.signed_info_c14n, c14n);
                assert_eq!(v.keyinfo_matches_signer, Some(true));
                assert_eq!(
                    v.document
                        .root
                        .first_child("urn:e", "learner")
                        .map(|l| l.text()),
                    Some("Ada".into())
                );
            }
        }
    }

    #[test]
    fn root_context_is_carried_into_signed_info() {
        // xml:* attributes and several namespace declarations on the root are inherited by
        // SignedInfo under inclusive C14N; the signer's stand-in root must reproduce them.
        let doc = "<p:elmo xmlns:p=\"urn:e\" xmlns=\"urn:d\" xmlns:z=\"urn:&amp;z\" xml:lang=\"en\" xml:space=\"preserve\" a=\"1\"><p:x>1</p:x></p:elmo>";
        let key = rsa_key();
        for c14n in [Mode::Inclusive, Mode::Exclusive] {
            let opts = SignOptions {
                c14n,
                ..SignOptions::default()
            };
            let signed = sign(doc.as_bytes(), &key, &opts).expect("sign");
            verify(
                &signed,
                std::slice::from_ref(key.certificate()),
                &Policy::default(),
            )
            .expect("verify");
        }
    }

    #[test]
    fn tampering_and_wrong_keys_fail() {
        let key = rsa_key();
        let other = rsa_key();
        let signed = sign(DOC.as_bytes(), &key, &SignOptions::default()).expect("sign");
        let certs = [key.certificate().clone()];
        let tampered = String::from_utf8(signed.clone())
            .expect("utf8")
            .replace(">Ada<", ">Eve<");
        assert_eq!(
            verify(tampered.as_bytes(), &certs, &Policy::default()).map(|_| ()),
            Err(VerifyError::DigestMismatch)
        );
        assert_eq!(
            verify(&signed, &[other.certificate().clone()], &Policy::default()).map(|_| ()),
            Err(VerifyError::SignatureInvalid(1))
        );
        // Several pinned certificates: the right one is found.
        let v = verify(
            &signed,
            &[other.certificate().clone(), key.certificate().clone()],
            &Policy::default(),
        )
        .expect("verify");
        assert_eq!(v.signer_index, 1);
        assert_eq!(
            sign(&signed, &key, &SignOptions::default()),
            Err(SignError::AlreadySigned)
        );
        assert!(matches!(
            sign(b"<elmo/>", &key, &SignOptions::default()),
            Err(SignError::EmptyRoot(_))
        ));
        assert_eq!(
            verify(DOC.as_bytes(), &certs, &Policy::default()).map(|_| ()),
            Err(VerifyError::NoSignature)
        );
        assert_eq!(
            verify(&signed, &[], &Policy::default()).map(|_| ()),
            Err(VerifyError::NoPinnedCertificates)
        );
    }
}
