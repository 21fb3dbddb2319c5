//! The `emrex.signer.v1.Signer` gRPC service.

use std::sync::Arc;
use std::time::Instant;

use emrex_proto::signer::v1::signer_server::Signer;
use emrex_proto::signer::v1::{
    Certificate, CertificateRole, GetCertificatesRequest, GetCertificatesResponse, GetJwksRequest,
    GetJwksResponse, JsonWebKey, JwsType, SignJwsRequest, SignJwsResponse, SignRequest,
    SignResponse,
};
use emrex_sdjwt::jose::{self, Jwk, JwsHeader, JwtType};
use emrex_xmldsig::dom::{self, Limits};
use emrex_xmldsig::{C14nMethod, NS_DSIG, PinnedCert, SignOptions};
use serde::{Deserialize, Serialize};
use tonic::{Request, Response, Status};

use crate::keys::KeyStore;
use crate::metrics::{CertLabels, SignerMetrics};

/// How the Signer signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SignerConfig {
    /// Canonicalization of SignedInfo and the document: `inclusive` (what the deployed Java
    /// peers emit) or `exclusive`.
    pub c14n: C14n,
    /// Largest document accepted, in bytes (ELMO with PDF attachments is a few hundred KB).
    pub max_document_bytes: usize,
    /// Largest JWS payload (`SignJws`) accepted, in bytes. An SD-JWT VC of a full transcript
    /// carries the claims only as digests; the payload is a few KB.
    pub max_jws_payload_bytes: usize,
}

/// Deepest JSON nesting `SignJws` accepts in a payload (an SD-JWT VC's claims are limited to 16
/// by emrex-sdjwt; this leaves room without letting a hostile caller recurse without bound).
pub const MAX_JWS_PAYLOAD_DEPTH: usize = 32;

/// Canonicalization choice in configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum C14n {
    #[default]
    Inclusive,
    Exclusive,
}

impl Default for SignerConfig {
    fn default() -> Self {
        Self {
            c14n: C14n::Inclusive,
            max_document_bytes: 16 * 1024 * 1024,
            max_jws_payload_bytes: 1024 * 1024,
        }
    }
}

/// The gRPC service. Authentication is applied around it by the caller (an interceptor that
/// admits only the NCP's client certificate).
#[derive(Debug, Clone)]
pub struct SignerService {
    keys: Arc<KeyStore>,
    config: SignerConfig,
    metrics: SignerMetrics,
}

impl SignerService {
    pub fn new(keys: Arc<KeyStore>, config: SignerConfig, metrics: SignerMetrics) -> Self {
        let s = Self {
            keys,
            config,
            metrics,
        };
        s.update_cert_gauges();
        s
    }

    fn options(&self) -> SignOptions {
        SignOptions {
            c14n: match self.config.c14n {
                C14n::Inclusive => C14nMethod::Inclusive,
                C14n::Exclusive => C14nMethod::Exclusive,
            },
            limits: self.limits(),
        }
    }

    fn limits(&self) -> Limits {
        Limits {
            max_bytes: self.config.max_document_bytes,
            ..Limits::default()
        }
    }

    fn update_cert_gauges(&self) {
        let loaded = self.keys.current();
        let set = |role: &str, c: &PinnedCert| {
            self.metrics
                .cert_not_after
                .get_or_create(&CertLabels { role: role.into() })
                .set(c.validity().1);
        };
        set("active", &loaded.active);
        match &loaded.next {
            Some(n) => set("next", n),
            None => {
                self.metrics.cert_not_after.remove(&CertLabels {
                    role: "next".into(),
                });
            }
        }
    }

    /// Checks and signs; errors are gRPC statuses with a reason the NCP can show or log.
    fn sign_now(&self, xml: Vec<u8>) -> Result<SignResponse, Status> {
        if xml.len() > self.config.max_document_bytes {
            self.metrics.fail("too_large");
            return Err(Status::resource_exhausted(format!(
                "document is {} bytes; the limit is {}",
                xml.len(),
                self.config.max_document_bytes
            )));
        }
        let doc = dom::parse(&xml, &self.limits()).map_err(|e| {
            self.metrics.fail("not_well_formed");
            Status::invalid_argument(format!("not well-formed or refused: {e}"))
        })?;
        if doc.root.descendants().any(|e| e.is(NS_DSIG, "Signature")) {
            self.metrics.fail("already_signed");
            return Err(Status::failed_precondition(
                "the document is already signed",
            ));
        }
        emrex_elmo::from_document(&doc).map_err(|e| {
            self.metrics.fail("not_elmo");
            Status::invalid_argument(format!("not an ELMO document: {e}"))
        })?;
        let loaded = self.keys.current();
        let options = self.options();
        let signed = emrex_xmldsig::sign(&xml, &loaded.key, &options).map_err(|e| {
            self.metrics.fail("internal");
            tracing::error!(error = %e, "signing failed");
            Status::internal(format!("signing failed: {e}"))
        })?;
        let alg = match loaded.active.key_type() {
            emrex_xmldsig::KeyType::Rsa(_) => emrex_xmldsig::SignatureAlgorithm::RsaSha256,
            emrex_xmldsig::KeyType::EcP256 => emrex_xmldsig::SignatureAlgorithm::EcdsaP256Sha256,
        };
        Ok(SignResponse {
            signed_xml: signed,
            certificate_sha256: loaded.active.sha256_hex(),
            signature_algorithm: alg.uri().to_string(),
            canonicalization: match options.c14n {
                C14nMethod::Inclusive => "http://www.w3.org/TR/2001/REC-xml-c14n-20010315".into(),
                C14nMethod::Exclusive => "http://www.w3.org/2001/10/xml-exc-c14n#".into(),
            },
        })
    }
}

impl SignerService {
    /// Checks a JWS payload and signs it with the active key; the header is the Signer's choice.
    fn sign_jws_now(&self, typ: i32, payload: Vec<u8>) -> Result<SignJwsResponse, Status> {
        let typ = match JwsType::try_from(typ) {
            Ok(JwsType::DcSdJwt) => JwtType::DcSdJwt,
            Ok(JwsType::VcSdJwt) => JwtType::VcSdJwt,
            _ => {
                self.metrics.fail("jws_bad_type");
                return Err(Status::invalid_argument(
                    "typ must be JWS_TYPE_DC_SD_JWT or JWS_TYPE_VC_SD_JWT",
                ));
            }
        };
        if payload.len() > self.config.max_jws_payload_bytes {
            self.metrics.fail("too_large");
            return Err(Status::resource_exhausted(format!(
                "payload is {} bytes; the limit is {}",
                payload.len(),
                self.config.max_jws_payload_bytes
            )));
        }
        // Only JWTs: a JSON object without duplicate members, so the Signer cannot be made to sign
        // arbitrary bytes under its issuer key.
        let parsed = emrex_sdjwt::json::parse_strict(
            &payload,
            self.config.max_jws_payload_bytes,
            MAX_JWS_PAYLOAD_DEPTH,
        )
        .map_err(|e| {
            self.metrics.fail("not_json");
            Status::invalid_argument(format!("payload is not acceptable JSON: {e}"))
        })?;
        if !parsed.is_object() {
            self.metrics.fail("not_json");
            return Err(Status::invalid_argument("payload is not a JSON object"));
        }
        let loaded = self.keys.current();
        let jwk = jwk_of(&loaded.active)?;
        let header = JwsHeader {
            alg: jwk.alg(),
            typ,
            kid: jwk.thumbprint(),
            x5c: loaded
                .chain
                .iter()
                .map(|c| jose::x5c_entry(c.der()))
                .collect(),
        };
        let compact_jws = jose::compact_jws(&header, &payload, |input| {
            loaded.key.sign_sha256(input).map_err(|e| {
                self.metrics.fail("internal");
                tracing::error!(error = %e, "JWS signing failed");
                Status::internal(format!("signing failed: {e}"))
            })
        })?;
        Ok(SignJwsResponse {
            compact_jws,
            kid: header.kid,
            alg: header.alg.as_str().to_string(),
            certificate_sha256: loaded.active.sha256_hex(),
        })
    }
}

impl SignerService {
    /// Runs one signing operation on the blocking pool (canonicalization, RSA and ECDSA are CPU
    /// work that must not hold up the async workers) and records how long it took.
    async fn timed_blocking<T: Send + 'static>(
        &self,
        op: impl FnOnce(SignerService) -> Result<T, Status> + Send + 'static,
    ) -> Result<T, Status> {
        let started = Instant::now();
        let this = self.clone();
        let result = tokio::task::spawn_blocking(move || op(this))
            .await
            .map_err(|e| Status::internal(format!("signing task failed: {e}")))?;
        self.metrics
            .duration
            .observe(started.elapsed().as_secs_f64());
        result
    }
}

/// The certificate's public key as a JWK.
fn jwk_of(c: &PinnedCert) -> Result<Jwk, Status> {
    emrex_sdjwt::x509::certificate_jwk(c).map_err(|e| Status::internal(format!("signing key: {e}")))
}

/// One JWKS entry, written as EMREG writes it for the same certificate
/// ([`emrex_sdjwt::x509::published_jwk`]: key, `kid`, `alg`, `use`, `x5c` — the chain for the
/// active key — and `x5t#S256`), so a verifier can tie the key to the certificate EMREG lists.
fn json_web_key(
    c: &PinnedCert,
    chain: &[PinnedCert],
    role: CertificateRole,
) -> Result<JsonWebKey, Status> {
    let chain: Vec<&PinnedCert> = chain.iter().collect();
    let value = emrex_sdjwt::x509::published_jwk(c, &chain)
        .map_err(|e| Status::internal(format!("signing key: {e}")))?;
    // `kid` and `alg` as the published JWK carries them (one key derivation, not two).
    let member = |name: &str| value[name].as_str().unwrap_or_default().to_string();
    Ok(JsonWebKey {
        kid: member("kid"),
        alg: member("alg"),
        jwk_json: value.to_string(),
        role: role as i32,
        certificate_sha256: c.sha256_hex(),
    })
}

fn certificate(c: &PinnedCert, role: CertificateRole) -> Certificate {
    let (not_before, not_after) = c.validity();
    Certificate {
        pem: c.to_pem(),
        sha256_fingerprint: c.sha256_hex(),
        subject: c.subject().to_string(),
        key_type: c.key_type().to_string(),
        not_before_unix: not_before,
        not_after_unix: not_after,
        role: role as i32,
    }
}

#[tonic::async_trait]
impl Signer for SignerService {
    async fn sign(&self, request: Request<SignRequest>) -> Result<Response<SignResponse>, Status> {
        let xml = request.into_inner().elmo_xml;
        let response = self.timed_blocking(move |this| this.sign_now(xml)).await?;
        self.metrics.signatures.inc();
        Ok(Response::new(response))
    }

    async fn get_certificates(
        &self,
        _request: Request<GetCertificatesRequest>,
    ) -> Result<Response<GetCertificatesResponse>, Status> {
        self.update_cert_gauges();
        let loaded = self.keys.current();
        let mut certificates = vec![certificate(&loaded.active, CertificateRole::Active)];
        if let Some(next) = &loaded.next {
            certificates.push(certificate(next, CertificateRole::Next));
        }
        Ok(Response::new(GetCertificatesResponse { certificates }))
    }

    async fn sign_jws(
        &self,
        request: Request<SignJwsRequest>,
    ) -> Result<Response<SignJwsResponse>, Status> {
        let SignJwsRequest { typ, payload } = request.into_inner();
        let response = self
            .timed_blocking(move |this| this.sign_jws_now(typ, payload))
            .await?;
        self.metrics.jws_signatures.inc();
        Ok(Response::new(response))
    }

    async fn get_jwks(
        &self,
        _request: Request<GetJwksRequest>,
    ) -> Result<Response<GetJwksResponse>, Status> {
        let loaded = self.keys.current();
        let mut keys = vec![json_web_key(
            &loaded.active,
            &loaded.chain,
            CertificateRole::Active,
        )?];
        if let Some(next) = &loaded.next {
            keys.push(json_web_key(
                next,
                std::slice::from_ref(next),
                CertificateRole::Next,
            )?);
        }
        let set: Vec<serde_json::Value> = keys
            .iter()
            .map(|k| serde_json::from_str(&k.jwk_json))
            .collect::<Result<_, _>>()
            .map_err(|e| Status::internal(format!("JWK: {e}")))?;
        let jwks_json = serde_json::json!({ "keys": set }).to_string();
        Ok(Response::new(GetJwksResponse { keys, jwks_json }))
    }
}
