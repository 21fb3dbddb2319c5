//! Test-support library of **independent oracles** for the EMREX workspace.
//!
//! Our own crates (`emrex-xmldsig`, `emrex-elmo`) parse, canonicalize, sign and verify XML. Testing
//! them against themselves proves little, so the integration tests compare them with tools that
//! share none of their code:
//!
//! * [`xmlsec`]: `xmlsec1` (libxmlsec1 + libxml2 + OpenSSL) — verify, sign, signature templates, and
//!   the exact canonical bytes it digested/signed ("PreDigest"/"PreSigned" dumps).
//! * [`signxml`]: the Python `signxml` package (lxml) — a second, unrelated verifier and signer.
//! * [`santuario`]: Apache Santuario (Java), the XML-Signature library the Java peers run, with
//!   secure validation on.
//! * [`xmllint`]: libxml2's XSD validator with the fixtures' offline catalog.
//! * [`jsonld`]: PyPI `pyld`, a JSON-LD 1.1 processor, expanding with local contexts only.
//! * [`sdjwt`]: npm `jose` and `@sd-jwt/sd-jwt-vc` (Node) — JWS, JWKS and SD-JWT VC verifiers.
//! * [`keys`]: throw-away keys and self-signed certificates made by the `openssl` command line.
//! * [`paths`]: where the shared fixtures live and where tests may write their output.
//! * [`tools`]: finding the external tools (never skipping silently) and running them with a time
//!   limit.
//!
//! Nothing in this library calls our own XML code: an oracle that used it would only echo it.

/// A real browser (Debian Chromium driven by playwright-core) running JSON step lists.
pub mod browser;
/// Documents benchmarks and tests share (the v1.7 example unsigned, a large synthetic ELMO).
pub mod documents;
/// The figures of issue #14 as JSON lines, for `scripts/bench.sh`.
pub mod figures;
/// JSON-LD expansion with PyPI `pyld` (offline document loader).
pub mod jsonld;
/// A real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager) for operator tests.
pub mod k8s;
pub mod keys;
/// A real OpenID Provider (npm `oidc-provider`) on loopback, killed on drop.
pub mod oidc;
pub mod paths;
/// The `emrex` container image (`scripts/image.sh`) run with podman.
pub mod podman;
pub mod santuario;
/// npm `jose` and `@sd-jwt/sd-jwt-vc` verifying the Signer's JWS and issued SD-JWT VCs.
pub mod sdjwt;
pub mod signxml;
pub mod tools;
pub mod xmllint;
pub mod xmlsec;

pub use jsonld::{Expansion, pyld_expand};
pub use keys::{KeyAlg, Subject, TestKey, base64_encode, openssl_digest_base64};
pub use paths::{fixture, fixture_files, fixtures_dir, output_dir, read_fixture, workspace_dir};
pub use santuario::Santuario;
pub use signxml::{signxml_sign, signxml_verify};
pub use tools::{require_python_module, require_tool};
pub use xmllint::{
    xmllint_validate, xmllint_validate_elmo_v17, xmllint_validate_elmo_v21, xmllint_validate_ewp,
    xmllint_validate_ewp_tor_v3,
};
pub use xmlsec::{
    C14n, DigestAlg, SigAlg, XmlsecDebug, append_template_to_root, signature_template,
    signature_template_unprefixed, try_xmlsec1_sign, xmlsec1_debug, xmlsec1_predigest,
    xmlsec1_presigned, xmlsec1_sign, xmlsec1_verify,
};
