//! The Python `signxml` package (PyPI `signxml` + `lxml`) as a second, unrelated verifier and
//! signer.
//!
//! # Known false negative (signxml 5.2.0, lxml 6.1.3 with bundled libxml2 2.14.6)
//!
//! signxml fails to verify *valid* inclusive-C14N signatures whose `Signature` element redeclares
//! the dsig namespace as the **default** namespace inside a root that has another default namespace
//! (`<elmo xmlns="...elmo..."> ... <Signature xmlns="...xmldsig#">`): lxml's subtree C14N of
//! `SignedInfo` emits a spurious `xmlns=""` on `Transforms`, `DigestMethod`, `DigestValue`, ... so the
//! signed bytes differ from what the signer signed. That shape is what the DK documents and the
//! generated inclusive fixtures use; xmlsec1 verifies them. Exclusive C14N and `ds:`-prefixed
//! signatures (what [`crate::xmlsec::signature_template`] and [`signxml_sign`] produce) are not
//! affected. Use xmlsec1 as the primary oracle; treat a signxml rejection of such a document as the
//! known bug, not as a verdict.
//!
//! signxml also checks the pinned certificate's validity period at the current time (xmlsec1
//! does not), so the expired FI 2015 certificate fails here.

use std::path::Path;
use std::process::Command;

use crate::keys::{KeyAlg, TestKey};
use crate::tools::{DEFAULT_TIMEOUT, require_python_module, require_tool, run};
use crate::xmlsec::C14n;

const VERIFY_PY: &str = r#"
import sys
from signxml import XMLVerifier, SignatureConfiguration
from signxml.algorithms import SignatureMethod, DigestAlgorithm
doc_path, cert_path, allow_sha1 = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
methods = {SignatureMethod.RSA_SHA256, SignatureMethod.ECDSA_SHA256}
digests = {DigestAlgorithm.SHA256}
if allow_sha1:
    methods.add(SignatureMethod.RSA_SHA1)
    digests.add(DigestAlgorithm.SHA1)
config = SignatureConfiguration(
    require_x509=True,
    signature_methods=frozenset(methods),
    digest_algorithms=frozenset(digests),
)
with open(doc_path, "rb") as f:
    doc = f.read()
with open(cert_path, "rb") as f:
    cert = f.read().decode("ascii")
try:
    XMLVerifier().verify(doc, x509_cert=cert, expect_config=config)
except Exception as e:
    print(f"{type(e).__name__}: {e}", file=sys.stderr)
    sys.exit(1)
print("OK")
"#;

const SIGN_PY: &str = r#"
import sys
from lxml import etree
from signxml import XMLSigner, methods
from signxml.algorithms import CanonicalizationMethod, SignatureMethod, DigestAlgorithm
doc_path, key_path, cert_path, c14n, sig_alg, out_path = sys.argv[1:7]
parser = etree.XMLParser(resolve_entities=False, no_network=True)
root = etree.parse(doc_path, parser).getroot()
signer = XMLSigner(
    method=methods.enveloped,
    signature_algorithm=SignatureMethod[sig_alg],
    digest_algorithm=DigestAlgorithm.SHA256,
    c14n_algorithm=CanonicalizationMethod[c14n],
)
with open(key_path, "rb") as f:
    key = f.read()
with open(cert_path, "rb") as f:
    cert = f.read().decode("ascii")
signed = signer.sign(root, key=key, cert=cert)
with open(out_path, "wb") as f:
    f.write(etree.tostring(signed, encoding="UTF-8", xml_declaration=True))
"#;

fn python() -> std::path::PathBuf {
    let python = require_tool("python3");
    require_python_module("lxml");
    require_python_module("signxml");
    python
}

/// Verifies `doc` with signxml against the pinned certificate at `cert_pem_path`
/// (`XMLVerifier().verify(doc, x509_cert=cert, expect_config=...)`). Accepted algorithms:
/// RSA-SHA256 and ECDSA-SHA256 with SHA-256 digests, plus RSA-SHA1/SHA-1 when `allow_sha1`.
/// `Err` carries the Python exception (`InvalidSignature: ...`, `InvalidInput: ...`).
///
/// Exists as a second verifier that shares no code with xmlsec1 or with us (note the known false
/// negative in the module docs).
pub fn signxml_verify(doc: &[u8], cert_pem_path: &Path, allow_sha1: bool) -> Result<(), String> {
    let python = python();
    let dir = tempfile::Builder::new()
        .prefix("emrex-signxml-")
        .tempdir()
        .expect("temp folder for signxml input");
    let input = dir.path().join("doc.xml");
    std::fs::write(&input, doc).expect("writing signxml input");
    let out = run(
        Command::new(python)
            .args(["-c", VERIFY_PY])
            .arg(&input)
            .arg(cert_pem_path)
            .arg(if allow_sha1 { "1" } else { "0" }),
        DEFAULT_TIMEOUT,
    );
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "signxml verify failed (exit {:?}): {}",
            out.status.code(),
            out.stderr_text().trim_end()
        ))
    }
}

/// Signs `doc` with signxml: enveloped signature as the root's last child (prefix `ds:`),
/// SHA-256 digest, RSA-SHA256 (or ECDSA-SHA256 for an EC key), `c14n` for both `SignedInfo` and
/// the reference transform, the certificate in `KeyInfo/X509Data`. The result is lxml's
/// serialisation with an XML declaration (not byte-identical to `doc` outside the signature).
///
/// Exists to produce signatures from a signer that is neither ours nor xmlsec1, in the shape
/// Python/PHP peers emit (explicit C14N transform in the reference).
///
/// # Panics
/// When signxml fails.
pub fn signxml_sign(doc: &[u8], key: &TestKey, c14n: C14n) -> Vec<u8> {
    let python = python();
    let dir = tempfile::Builder::new()
        .prefix("emrex-signxml-")
        .tempdir()
        .expect("temp folder for signxml input");
    let input = dir.path().join("doc.xml");
    let output = dir.path().join("signed.xml");
    std::fs::write(&input, doc).expect("writing signxml input");
    let c14n_name = match c14n {
        C14n::Incl => "CANONICAL_XML_1_0",
        C14n::Excl => "EXCLUSIVE_XML_CANONICALIZATION_1_0",
    };
    let sig_name = match key.alg {
        KeyAlg::Rsa(_) => "RSA_SHA256",
        KeyAlg::EcP256 => "ECDSA_SHA256",
    };
    let out = run(
        Command::new(python)
            .args(["-c", SIGN_PY])
            .arg(&input)
            .arg(&key.key_path)
            .arg(&key.cert_path)
            .arg(c14n_name)
            .arg(sig_name)
            .arg(&output),
        DEFAULT_TIMEOUT,
    );
    assert!(
        out.status.success(),
        "signxml sign failed (exit {:?}): {}",
        out.status.code(),
        out.stderr_text()
    );
    std::fs::read(&output).expect("reading signxml output")
}
