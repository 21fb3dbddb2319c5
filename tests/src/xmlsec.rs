//! `xmlsec1` (Debian package `xmlsec1`, 1.2.37 with the OpenSSL backend) as an oracle: verify,
//! sign from a template, and dump the exact canonical bytes it digested and signed.
//!
//! # Verification flags (and why they differ from the textbook command)
//!
//! `xmlsec1 --verify --pubkey-cert-pem CERT doc.xml` alone is **not** a pinned-key check: if the
//! document's `KeyInfo` carries a certificate that chains to a CA in OpenSSL's default trust store
//! (`SSL_CERT_FILE`/`SSL_CERT_DIR`, the system bundle), xmlsec1 verifies with *that* key and ignores
//! `CERT` (reproduced here: a document signed by a leaf of a throw-away CA verified "OK" against an
//! unrelated pinned certificate once `SSL_CERT_FILE` pointed at that CA). So every verification
//! here adds
//!
//! * `--enabled-key-data key-name` — `KeyInfo` may only *name* a key; `X509Data`, `KeyValue` and
//!   `RetrievalMethod` are ignored, so the only key is the pinned one;
//! * `--enabled-reference-uris empty,same-doc` — no `Reference` may make xmlsec1 read a local file
//!   or the network.
//!
//! With those flags all positive fixtures still verify (and the noisy "self-signed certificate"
//! warnings disappear, since no `KeyInfo` certificate is examined).
//!
//! # Legacy algorithms
//!
//! xmlsec1 1.2.37 on OpenSSL 3.0 verifies **and** signs RSA-SHA1 and SHA-1 digests with RSA-1024
//! keys with no extra flag (the FI 2015 document with its RSA-1024 certificate verifies; a fresh
//! RSA-1024 key signs and verifies `rsa-sha1`). It also does not check the pinned certificate's
//! validity period with `--pubkey-cert-pem` (the FI certificate expired in 2018 and still
//! verifies). A test that wants "SHA-1 must be rejected" therefore cannot use xmlsec1 as the
//! oracle for the rejection; it is our policy, not xmlsec1's.
//!
//! # Other quirks
//!
//! * Only the **first** `Signature` element in document order is processed (signing a file that
//!   already holds a signature silently re-signs the old one).
//! * Verification stops at the first `Reference` whose digest does not match: that reference's
//!   "PreDigest" buffer is still printed, but SignedInfo is then never canonicalized, so there is
//!   no "PreSigned" buffer. When the references match but the `SignatureValue` does not (e.g. the
//!   wrong certificate), both buffers are printed.

use std::path::Path;
use std::process::Command;

use crate::keys::TestKey;
use crate::tools::{DEFAULT_TIMEOUT, Finished, require_tool, run};

/// The XML-Signature namespace.
pub const NS_DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";

/// Flags added to every `xmlsec1 --verify` (see the module docs).
pub const VERIFY_HARDENING: [&str; 4] = [
    "--enabled-key-data",
    "key-name",
    "--enabled-reference-uris",
    "empty,same-doc",
];

/// Canonicalization algorithm (both without comments).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum C14n {
    /// Canonical XML 1.0 (inclusive), `http://www.w3.org/TR/2001/REC-xml-c14n-20010315`.
    Incl,
    /// Exclusive XML Canonicalization 1.0, `http://www.w3.org/2001/10/xml-exc-c14n#`.
    Excl,
}

impl C14n {
    /// The algorithm URI.
    pub fn uri(self) -> &'static str {
        match self {
            Self::Incl => "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
            Self::Excl => "http://www.w3.org/2001/10/xml-exc-c14n#",
        }
    }
}

/// Signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigAlg {
    /// RSA PKCS#1 v1.5 with SHA-256.
    RsaSha256,
    /// RSA PKCS#1 v1.5 with SHA-1 (legacy EMREX peers).
    RsaSha1,
    /// ECDSA P-256 with SHA-256.
    EcdsaSha256,
}

impl SigAlg {
    /// The algorithm URI.
    pub fn uri(self) -> &'static str {
        match self {
            Self::RsaSha256 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            Self::RsaSha1 => "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            Self::EcdsaSha256 => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
        }
    }
}

/// Digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlg {
    /// SHA-256.
    Sha256,
    /// SHA-1 (legacy EMREX peers).
    Sha1,
}

impl DigestAlg {
    /// The algorithm URI.
    pub fn uri(self) -> &'static str {
        match self {
            Self::Sha256 => "http://www.w3.org/2001/04/xmlenc#sha256",
            Self::Sha1 => "http://www.w3.org/2000/09/xmldsig#sha1",
        }
    }
}

fn template_with_prefix(
    prefix: &str,
    c14n: C14n,
    sig: SigAlg,
    digest: DigestAlg,
    explicit_c14n_transform: bool,
) -> String {
    let p = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}:")
    };
    let xmlns = if prefix.is_empty() {
        format!("xmlns=\"{NS_DSIG}\"")
    } else {
        format!("xmlns:{prefix}=\"{NS_DSIG}\"")
    };
    let c14n_uri = c14n.uri();
    let c14n_transform = if explicit_c14n_transform {
        format!("<{p}Transform Algorithm=\"{c14n_uri}\"/>")
    } else {
        String::new()
    };
    format!(
        "<{p}Signature {xmlns}><{p}SignedInfo>\
         <{p}CanonicalizationMethod Algorithm=\"{c14n_uri}\"/>\
         <{p}SignatureMethod Algorithm=\"{sig}\"/>\
         <{p}Reference URI=\"\"><{p}Transforms>\
         <{p}Transform Algorithm=\"{NS_DSIG}enveloped-signature\"/>{c14n_transform}\
         </{p}Transforms>\
         <{p}DigestMethod Algorithm=\"{digest}\"/><{p}DigestValue/>\
         </{p}Reference></{p}SignedInfo><{p}SignatureValue/>\
         <{p}KeyInfo><{p}X509Data><{p}X509Certificate/></{p}X509Data></{p}KeyInfo>\
         </{p}Signature>",
        sig = sig.uri(),
        digest = digest.uri(),
    )
}

/// An enveloped-signature template (prefix `ds:`) for `xmlsec1 --sign`: one `Reference URI=""`
/// with the enveloped-signature transform (plus, if `explicit_c14n_transform`, a second transform
/// naming `c14n`), `CanonicalizationMethod` = `c14n`, and empty `DigestValue`, `SignatureValue`
/// and `X509Certificate` for xmlsec1 to fill. No whitespace between elements.
///
/// Exists so tests can produce every EMREX signature profile seen in the wild with a signer that
/// is not ours.
pub fn signature_template(
    c14n: C14n,
    sig: SigAlg,
    digest: DigestAlg,
    explicit_c14n_transform: bool,
) -> String {
    template_with_prefix("ds", c14n, sig, digest, explicit_c14n_transform)
}

/// Same as [`signature_template`] but with the dsig namespace as the *default* namespace
/// (`<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">`), the shape Java peers (DK, the
/// generated fixtures) emit.
///
/// Exists because that shape inside an ELMO root (which has its own default namespace) is what
/// trips signxml/lxml 2.14 with inclusive C14N (see [`crate::signxml`]), so tests need to make it
/// on purpose.
pub fn signature_template_unprefixed(
    c14n: C14n,
    sig: SigAlg,
    digest: DigestAlg,
    explicit_c14n_transform: bool,
) -> String {
    template_with_prefix("", c14n, sig, digest, explicit_c14n_transform)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

fn find_from(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// Byte offset of the `</` that starts the root element's end tag: the last `</` once trailing
/// whitespace, comments and processing instructions after the root have been skipped.
fn root_end_tag_start(doc: &[u8]) -> Option<usize> {
    let mut end = doc.len();
    loop {
        while end > 0 && matches!(doc[end - 1], b' ' | b'\t' | b'\r' | b'\n') {
            end -= 1;
        }
        let head = &doc[..end];
        if head.ends_with(b"-->") {
            end = rfind(head, b"<!--")?;
        } else if head.ends_with(b"?>") {
            end = rfind(head, b"<?")?;
        } else {
            break;
        }
    }
    if !doc[..end].ends_with(b">") {
        return None;
    }
    rfind(&doc[..end], b"</")
}

/// `doc` with `tmpl` inserted directly before the root element's end tag, every other byte
/// unchanged (no parse, no re-serialisation).
///
/// Exists because the oracles must sign the document *as given*: a re-serialised copy could
/// differ from the input in exactly the ways (attribute quoting, namespace placement, character
/// references) a canonicalizer test is about.
///
/// # Panics
/// When no root end tag is found (e.g. a self-closing root `<elmo/>`).
pub fn append_template_to_root(doc: &[u8], tmpl: &str) -> Vec<u8> {
    let at = root_end_tag_start(doc)
        .expect("document has no root end tag `</...>` to insert the signature template before");
    let mut out = Vec::with_capacity(doc.len() + tmpl.len());
    out.extend_from_slice(&doc[..at]);
    out.extend_from_slice(tmpl.as_bytes());
    out.extend_from_slice(&doc[at..]);
    out
}

/// A temp folder holding the input document (xmlsec1 reads files, not stdin).
fn doc_in_tempdir(doc: &[u8], name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("emrex-xmlsec1-")
        .tempdir()
        .expect("temp folder for xmlsec1 input");
    let path = dir.path().join(name);
    std::fs::write(&path, doc).expect("writing xmlsec1 input");
    (dir, path)
}

fn failure_text(what: &str, out: &Finished) -> String {
    format!(
        "{what} failed (exit {:?}):\n{}",
        out.status.code(),
        out.stderr_text()
    )
}

/// Signs `template_doc` (a document containing an empty signature template, see
/// [`signature_template`] / [`append_template_to_root`]) with `key`, via
/// `xmlsec1 --sign --privkey-pem key.pem,cert.pem --output out.xml tmpl.xml`, and returns the
/// signed document; `Err` carries xmlsec1's stderr.
///
/// Exists for negative tests that expect xmlsec1 to refuse a template.
pub fn try_xmlsec1_sign(template_doc: &[u8], key: &TestKey) -> Result<Vec<u8>, String> {
    let xmlsec1 = require_tool("xmlsec1");
    let (dir, input) = doc_in_tempdir(template_doc, "template.xml");
    let output = dir.path().join("signed.xml");
    let mut key_arg = key.key_path.clone().into_os_string();
    key_arg.push(",");
    key_arg.push(&key.cert_path);
    let out = run(
        Command::new(xmlsec1)
            .arg("--sign")
            .arg("--privkey-pem")
            .arg(key_arg)
            .arg("--output")
            .arg(&output)
            .arg(&input),
        DEFAULT_TIMEOUT,
    );
    if !out.status.success() {
        return Err(failure_text("xmlsec1 --sign", &out));
    }
    std::fs::read(&output).map_err(|e| format!("reading xmlsec1 output: {e}"))
}

/// Signs `template_doc` with `key` using xmlsec1 (see [`try_xmlsec1_sign`]).
///
/// Exists to produce documents signed by an independent implementation, which our verifier must
/// accept. Note xmlsec1 re-serialises the document through libxml2 when writing it (e.g. an XML
/// declaration is written), so compare canonical forms, not bytes, with the template.
///
/// # Panics
/// When xmlsec1 fails.
pub fn xmlsec1_sign(template_doc: &[u8], key: &TestKey) -> Vec<u8> {
    try_xmlsec1_sign(template_doc, key).unwrap_or_else(|e| panic!("{e}"))
}

/// Verifies the first `Signature` of `doc` against the pinned certificate at `cert_pem_path` with
/// `xmlsec1 --verify` (plus [`VERIFY_HARDENING`]). `Ok` iff xmlsec1 exits 0; `Err` carries its
/// stderr.
///
/// Exists as the primary independent verifier: whatever our verifier accepts or rejects, xmlsec1
/// should agree. It accepts SHA-1 and RSA-1024 (see the module docs), so it says nothing about
/// algorithm policy.
pub fn xmlsec1_verify(doc: &[u8], cert_pem_path: &Path) -> Result<(), String> {
    verify_with(doc, cert_pem_path, true, &[])
}

/// `xmlsec1 --verify [VERIFY_HARDENING] --pubkey-cert-pem CERT doc.xml` with extra environment.
fn verify_with(
    doc: &[u8],
    cert_pem_path: &Path,
    hardened: bool,
    env: &[(&str, &std::ffi::OsStr)],
) -> Result<(), String> {
    let xmlsec1 = require_tool("xmlsec1");
    let (_dir, input) = doc_in_tempdir(doc, "doc.xml");
    let mut cmd = Command::new(xmlsec1);
    cmd.arg("--verify");
    if hardened {
        cmd.args(VERIFY_HARDENING);
    }
    cmd.arg("--pubkey-cert-pem").arg(cert_pem_path).arg(&input);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run(&mut cmd, DEFAULT_TIMEOUT);
    if out.status.success() {
        Ok(())
    } else {
        Err(failure_text("xmlsec1 --verify", &out))
    }
}

/// What one `xmlsec1 --verify --store-references --store-signatures --print-debug` run reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlsecDebug {
    /// xmlsec1 exited 0 (signature valid against the pinned certificate).
    pub verified: bool,
    /// Number of `SignedInfo` references xmlsec1 processed (its "SignedInfo References List" size).
    pub references: usize,
    /// Exact bytes xmlsec1 fed to the digest of each processed reference (the output of the
    /// reference's transforms, i.e. the canonical form), in `SignedInfo` order. Shorter than the
    /// number of references in the document when xmlsec1 stopped at a failing reference.
    pub pre_digest: Vec<Vec<u8>>,
    /// Exact bytes xmlsec1 fed to the signature algorithm: canonical `SignedInfo`. `None` when
    /// xmlsec1 stopped before (a reference digest did not match).
    pub pre_signed: Option<Vec<u8>>,
    /// xmlsec1's stderr (errors, `OK`/`FAIL`).
    pub stderr: String,
}

const PRE_DIGEST_START: &[u8] = b"== PreDigest data - start buffer:\n";
const PRE_DIGEST_END: &[u8] = b"\n== PreDigest data - end buffer\n";
const PRE_SIGNED_START: &[u8] = b"== PreSigned data - start buffer:\n";
const PRE_SIGNED_END: &[u8] = b"\n== PreSigned data - end buffer\n";
const REFS_HEADER: &[u8] = b"\n== SignedInfo References List:\n=== list size: ";

/// The parts of a debug dump [`parse_debug_dump`] extracts (see [`XmlsecDebug`]).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct DumpBuffers {
    references: usize,
    pre_digest: Vec<Vec<u8>>,
    pre_signed: Option<Vec<u8>>,
}

fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

/// Parses the `--print-debug` dump of `xmlsec1 --verify --store-references --store-signatures`.
///
/// The dump is text, except that each stored buffer is written raw:
///
/// ```text
/// == SignedInfo References List:
/// === list size: 1
/// = REFERENCE VERIFICATION CONTEXT
/// ...
/// == PreDigest data - start buffer:
/// <raw bytes, no terminator of their own>
/// == PreDigest data - end buffer
/// == Manifest References List:
/// === list size: 0
/// == PreSigned data - start buffer:
/// <raw bytes>
/// == PreSigned data - end buffer
/// ```
///
/// i.e. xmlsec1 prints `"start buffer:\n"`, the bytes, then `"\n== ... end buffer\n"`; the newline
/// before the end marker is xmlsec1's, not the data's (canonical XML of a whole document ends with
/// the root end tag). The buffer is therefore the bytes strictly between `start buffer:\n` and the
/// first following `\n== ... end buffer\n`.
///
/// The raw bytes are document content, so a hostile document could contain marker text. The parse
/// refuses (`Err`) rather than guess: the four marker strings must occur in the whole dump exactly
/// as often as buffers were extracted, every buffer must start on its own line after the
/// (content-free) "SignedInfo References List" header, and there are at most as many PreDigest
/// buffers as references and at most one PreSigned buffer.
pub(crate) fn parse_debug_dump(stdout: &[u8]) -> Result<DumpBuffers, String> {
    let header = find_from(stdout, REFS_HEADER, 0).ok_or(
        "xmlsec1 debug output has no \"SignedInfo References List\" (no signature processed?)",
    )?;
    let size_start = header + REFS_HEADER.len();
    let size_end = find_from(stdout, b"\n", size_start).ok_or("truncated reference list size")?;
    let references: usize = std::str::from_utf8(&stdout[size_start..size_end])
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or("unparseable reference list size")?;

    let mut pre_digest = Vec::new();
    let mut pre_signed: Option<Vec<u8>> = None;
    let mut pos = size_end;
    loop {
        let next_digest = find_from(stdout, PRE_DIGEST_START, pos);
        let next_signed = find_from(stdout, PRE_SIGNED_START, pos);
        let (start, start_marker, end_marker, is_digest) = match (next_digest, next_signed) {
            (None, None) => break,
            (Some(d), Some(s)) if s < d => (s, PRE_SIGNED_START, PRE_SIGNED_END, false),
            (Some(d), _) => (d, PRE_DIGEST_START, PRE_DIGEST_END, true),
            (None, Some(s)) => (s, PRE_SIGNED_START, PRE_SIGNED_END, false),
        };
        if stdout.get(start.wrapping_sub(1)) != Some(&b'\n') {
            return Err(format!("buffer marker not at line start at byte {start}"));
        }
        let content_start = start + start_marker.len();
        let content_end = find_from(stdout, end_marker, content_start)
            .ok_or_else(|| format!("unterminated buffer starting at byte {start}"))?;
        let content = stdout[content_start..content_end].to_vec();
        if is_digest {
            if pre_signed.is_some() {
                return Err("PreDigest buffer after the PreSigned buffer".to_owned());
            }
            pre_digest.push(content);
        } else {
            if pre_signed.is_some() {
                return Err("more than one PreSigned buffer".to_owned());
            }
            pre_signed = Some(content);
        }
        pos = content_end + end_marker.len();
    }

    let ambiguous = |what: &str| {
        Err(format!(
            "xmlsec1 debug output is ambiguous ({what}); the document probably contains \
             xmlsec1's buffer marker text, refusing to guess the canonical bytes"
        ))
    };
    let n_signed = usize::from(pre_signed.is_some());
    for (marker, expected) in [
        (
            &PRE_DIGEST_START[..PRE_DIGEST_START.len() - 1],
            pre_digest.len(),
        ),
        (&PRE_DIGEST_END[1..], pre_digest.len()),
        (&PRE_SIGNED_START[..PRE_SIGNED_START.len() - 1], n_signed),
        (&PRE_SIGNED_END[1..], n_signed),
    ] {
        if count(stdout, marker) != expected {
            return ambiguous(&format!(
                "{:?} occurs {} times, {expected} buffers extracted",
                String::from_utf8_lossy(marker),
                count(stdout, marker)
            ));
        }
    }
    if count(stdout, REFS_HEADER) != 1 {
        return ambiguous("several reference list headers");
    }
    if pre_digest.len() > references {
        return ambiguous("more PreDigest buffers than references");
    }
    if pre_signed.is_some() && pre_digest.len() != references {
        return ambiguous(
            "SignedInfo canonicalized but not every reference has a PreDigest buffer",
        );
    }
    Ok(DumpBuffers {
        references,
        pre_digest,
        pre_signed,
    })
}

/// Runs `xmlsec1 --verify --store-references --store-signatures --print-debug` (plus
/// [`VERIFY_HARDENING`]) on `doc` with the pinned certificate and returns the canonical bytes it
/// digested and signed, whether or not the signature verified.
///
/// Exists as the canonicalization oracle: the bytes our C14N produces for a reference / for
/// `SignedInfo` must equal xmlsec1's byte for byte. `Err` only when xmlsec1 produced no usable
/// dump (e.g. the document is not well-formed or has no `Signature`) or the dump is ambiguous.
pub fn xmlsec1_debug(doc: &[u8], cert_pem_path: &Path) -> Result<XmlsecDebug, String> {
    let xmlsec1 = require_tool("xmlsec1");
    let (_dir, input) = doc_in_tempdir(doc, "doc.xml");
    let out = run(
        Command::new(xmlsec1)
            .args([
                "--verify",
                "--store-references",
                "--store-signatures",
                "--print-debug",
            ])
            .args(VERIFY_HARDENING)
            .arg("--pubkey-cert-pem")
            .arg(cert_pem_path)
            .arg(&input),
        DEFAULT_TIMEOUT,
    );
    let stderr = out.stderr_text();
    let DumpBuffers {
        references,
        pre_digest,
        pre_signed,
    } = parse_debug_dump(&out.stdout).map_err(|e| {
        format!(
            "{e}\nxmlsec1 exit {:?}, stderr:\n{stderr}",
            out.status.code()
        )
    })?;
    Ok(XmlsecDebug {
        verified: out.status.success(),
        references,
        pre_digest,
        pre_signed,
        stderr,
    })
}

/// The "PreDigest" bytes of every reference xmlsec1 processed (see [`xmlsec1_debug`]), also when
/// verification failed. For a broken signature whose digest does not match, xmlsec1 1.2.37 still
/// prints the failing reference's buffer, so this is `Ok`.
///
/// Exists as the shortcut for the common C14N comparison.
pub fn xmlsec1_predigest(doc: &[u8], cert_pem_path: &Path) -> Result<Vec<Vec<u8>>, String> {
    let dbg = xmlsec1_debug(doc, cert_pem_path)?;
    if dbg.pre_digest.is_empty() {
        return Err(format!(
            "xmlsec1 printed no PreDigest buffer ({} references); stderr:\n{}",
            dbg.references, dbg.stderr
        ));
    }
    Ok(dbg.pre_digest)
}

/// The "PreSigned" bytes (canonical `SignedInfo`) xmlsec1 fed to the signature check (see
/// [`xmlsec1_debug`]). `Err` when xmlsec1 never got there, which is the case whenever a reference
/// digest does not match.
///
/// Exists to compare our canonical `SignedInfo` with xmlsec1's.
pub fn xmlsec1_presigned(doc: &[u8], cert_pem_path: &Path) -> Result<Vec<u8>, String> {
    let dbg = xmlsec1_debug(doc, cert_pem_path)?;
    dbg.pre_signed.ok_or_else(|| {
        format!(
            "xmlsec1 printed no PreSigned buffer (it stops before SignedInfo when a reference \
             digest fails); stderr:\n{}",
            dbg.stderr
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dump(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    const HEAD: &[u8] = b"= VERIFICATION CONTEXT\n== Status: succeeded\n== SignedInfo References List:\n=== list size: 1\n= REFERENCE VERIFICATION CONTEXT\n";

    #[test]
    fn parses_buffers_exactly() {
        let out = dump(&[
            HEAD,
            b"== PreDigest data - start buffer:\n<a>\n x\n</a>\n\n== PreDigest data - end buffer\n",
            b"== Manifest References List:\n=== list size: 0\n",
            b"== PreSigned data - start buffer:\n<SignedInfo></SignedInfo>\n== PreSigned data - end buffer\n",
        ]);
        let parsed = parse_debug_dump(&out).expect("parses");
        assert_eq!(
            parsed,
            DumpBuffers {
                references: 1,
                pre_digest: vec![b"<a>\n x\n</a>\n".to_vec()],
                pre_signed: Some(b"<SignedInfo></SignedInfo>".to_vec()),
            }
        );
    }

    #[test]
    fn empty_buffer_and_missing_presigned() {
        let out = dump(&[
            HEAD,
            b"== PreDigest data - start buffer:\n\n== PreDigest data - end buffer\n",
            b"== Manifest References List:\n=== list size: 0\n",
        ]);
        let parsed = parse_debug_dump(&out).expect("parses");
        assert_eq!(parsed.pre_digest, vec![Vec::<u8>::new()]);
        assert_eq!(parsed.pre_signed, None);
    }

    #[test]
    fn refuses_marker_text_inside_content() {
        let out = dump(&[
            HEAD,
            b"== PreDigest data - start buffer:\n<a>x\n== PreDigest data - end buffer\ny</a>\n== PreDigest data - end buffer\n",
        ]);
        let err = parse_debug_dump(&out).expect_err("must refuse");
        assert!(err.contains("ambiguous"), "{err}");
        let out = dump(&[
            HEAD,
            b"== PreDigest data - start buffer:\n<a>\n== PreSigned data - start buffer:\n</a>\n== PreDigest data - end buffer\n",
        ]);
        assert!(parse_debug_dump(&out).is_err());
    }

    #[test]
    fn refuses_output_without_reference_list() {
        assert!(parse_debug_dump(b"= VERIFICATION CONTEXT\n").is_err());
    }

    #[test]
    fn template_shapes() {
        let t = signature_template(C14n::Excl, SigAlg::EcdsaSha256, DigestAlg::Sha256, true);
        assert!(t.starts_with("<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">"));
        assert_eq!(t.matches(C14n::Excl.uri()).count(), 2, "{t}");
        assert!(t.contains(SigAlg::EcdsaSha256.uri()));
        assert!(!t.contains('\n'));
        let t = signature_template(C14n::Incl, SigAlg::RsaSha1, DigestAlg::Sha1, false);
        assert_eq!(t.matches(C14n::Incl.uri()).count(), 1, "{t}");
        assert!(t.contains(DigestAlg::Sha1.uri()) && t.contains(SigAlg::RsaSha1.uri()));
        let t =
            signature_template_unprefixed(C14n::Incl, SigAlg::RsaSha256, DigestAlg::Sha256, false);
        assert!(
            t.starts_with("<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><SignedInfo>")
        );
    }

    #[test]
    fn append_is_byte_exact() {
        let doc = b"<?xml version='1.0'?>\n<r a='1'>\n  <x>&#65;</x>\n</r>\n<!-- </tail> -->\n<?pi </p> ?>\n";
        let out = append_template_to_root(doc, "<S/>");
        assert_eq!(
            out,
            b"<?xml version='1.0'?>\n<r a='1'>\n  <x>&#65;</x>\n<S/></r>\n<!-- </tail> -->\n<?pi </p> ?>\n".to_vec()
        );
        assert_eq!(
            append_template_to_root(b"<r></r>", "<S/>"),
            b"<r><S/></r>".to_vec()
        );
    }

    /// The reason for `--enabled-key-data key-name`: without it, a `KeyInfo` certificate that
    /// chains to a CA in OpenSSL's default store replaces the pinned certificate.
    #[test]
    fn pinning_survives_a_trusted_keyinfo_chain() {
        use crate::keys::{KeyAlg, Subject};
        let ca = TestKey::generate(KeyAlg::Rsa(2048), &Subject::new("Throwaway CA", "X", "XX"));
        let leaf = TestKey::issued_by(KeyAlg::Rsa(2048), &Subject::new("leaf", "X", "XX"), &ca);
        let pinned = TestKey::rsa(2048);
        let tmpl = signature_template(C14n::Excl, SigAlg::RsaSha256, DigestAlg::Sha256, false);
        let doc = xmlsec1_sign(
            &append_template_to_root(b"<r xmlns=\"urn:x\"><v>1</v></r>", &tmpl),
            &leaf,
        );
        let trust_ca = [("SSL_CERT_FILE", ca.cert_path.as_os_str())];
        // The textbook command accepts the document although `pinned` never signed it ...
        assert_eq!(
            verify_with(&doc, &pinned.cert_path, false, &trust_ca),
            Ok(())
        );
        // ... the hardened one does not, and still accepts the real signer.
        assert!(verify_with(&doc, &pinned.cert_path, true, &trust_ca).is_err());
        assert_eq!(verify_with(&doc, &leaf.cert_path, true, &trust_ca), Ok(()));
        assert_eq!(xmlsec1_verify(&doc, &leaf.cert_path), Ok(()));
        assert!(xmlsec1_verify(&doc, &pinned.cert_path).is_err());
    }

    #[test]
    #[should_panic(expected = "no root end tag")]
    fn append_refuses_self_closing_root() {
        let _ = append_template_to_root(b"<r/>", "<S/>");
    }
}
