//! The JOSE pieces SD-JWT needs: base64url, the two signature algorithms we accept (`ES256`,
//! `RS256`), public JSON Web Keys (RFC 7517/7518) with their RFC 7638 thumbprints, compact JWS
//! (RFC 7515) assembly, and the [`JwsSigner`] trait through which the issuer signs.
//!
//! Only two algorithms exist here on purpose: `ES256` is what the EUDI wallet ecosystem (and the
//! OpenID4VC High Assurance Interoperability Profile) requires; `RS256` is what an NCP whose Signer
//! holds an RSA key (as most EMREX XML-signing keys are) can produce. `none`, `HS*` and everything
//! else are not representable, so they cannot be accepted by mistake.

use std::future::Future;

use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

/// base64url without padding (RFC 7515 §2).
pub fn b64url(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding; refuses padding, other alphabets and non-canonical trailing
/// bits.
pub fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// A JWS signature algorithm this crate signs or verifies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    /// ECDSA P-256 with SHA-256, signature `r || s` (RFC 7518 §3.4).
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3).
    Rs256,
}

impl Alg {
    /// The `alg` header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Es256 => "ES256",
            Alg::Rs256 => "RS256",
        }
    }

    /// Reads an `alg` value; `None` for every other algorithm (`none`, `HS256`, `PS256`, …).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "ES256" => Some(Alg::Es256),
            "RS256" => Some(Alg::Rs256),
            _ => None,
        }
    }
}

impl std::fmt::Display for Alg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `typ` of an SD-JWT VC's issuer-signed JWT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JwtType {
    /// `dc+sd-jwt`: the media type of draft-ietf-oauth-sd-jwt-vc since draft 06.
    DcSdJwt,
    /// `vc+sd-jwt`: the earlier name, still what some deployed wallets look for.
    VcSdJwt,
}

impl JwtType {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            JwtType::DcSdJwt => "dc+sd-jwt",
            JwtType::VcSdJwt => "vc+sd-jwt",
        }
    }
}

/// Why a JWK was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwkError {
    #[error("a JWK must be a JSON object")]
    NotAnObject,
    #[error("JWK member {0} is missing or not a string")]
    Missing(&'static str),
    #[error("JWK member {0} is not base64url")]
    NotBase64(&'static str),
    #[error("unsupported JWK: {0}")]
    Unsupported(String),
    /// A private key where a public key belongs (a wallet that sent its `d` has leaked it).
    #[error("the JWK holds private key material ({0})")]
    Private(&'static str),
}

/// Bounds on RSA keys we accept from others (NIST's minimum; aws-lc-rs' maximum for verification).
const RSA_MIN_BITS: usize = 2048;
const RSA_MAX_BITS: usize = 8192;

/// A public key as a JSON Web Key: EC P-256 or RSA. Holds only what RFC 7638 hashes, so two JWKs
/// of the same key are equal however they were written.
#[derive(Clone, PartialEq, Eq)]
pub enum Jwk {
    /// P-256 affine coordinates.
    EcP256 { x: [u8; 32], y: [u8; 32] },
    /// RSA modulus and exponent, big-endian without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

impl std::fmt::Debug for Jwk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Jwk({} {})", self.kty(), self.thumbprint())
    }
}

fn strip_zeros(b: &[u8]) -> Vec<u8> {
    b[b.iter().position(|x| *x != 0).unwrap_or(b.len())..].to_vec()
}

fn member<'a>(
    o: &'a serde_json::Map<String, Value>,
    name: &'static str,
) -> Result<&'a str, JwkError> {
    o.get(name)
        .and_then(Value::as_str)
        .ok_or(JwkError::Missing(name))
}

fn bytes_member(
    o: &serde_json::Map<String, Value>,
    name: &'static str,
) -> Result<Vec<u8>, JwkError> {
    b64url_decode(member(o, name)?).ok_or(JwkError::NotBase64(name))
}

impl Jwk {
    /// A P-256 key from its coordinates.
    pub fn ec_p256(x: [u8; 32], y: [u8; 32]) -> Self {
        Jwk::EcP256 { x, y }
    }

    /// An RSA key from its modulus and exponent (leading zero bytes are dropped).
    pub fn rsa(n: &[u8], e: &[u8]) -> Self {
        Jwk::Rsa {
            n: strip_zeros(n),
            e: strip_zeros(e),
        }
    }

    /// Reads a public JWK, strictly: `kty` `EC` with `crv` `P-256` and 32-byte `x`/`y`, or `kty`
    /// `RSA` with a 2048–8192-bit `n` and an `e` of at most 4 bytes; any private member (`d`, `p`,
    /// …) is refused. Other members (`kid`, `use`, `alg`, `x5c`) are ignored.
    pub fn from_json(value: &Value) -> Result<Self, JwkError> {
        let o = value.as_object().ok_or(JwkError::NotAnObject)?;
        for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
            if o.contains_key(private) {
                return Err(JwkError::Private(private));
            }
        }
        match member(o, "kty")? {
            "EC" => {
                let crv = member(o, "crv")?;
                if crv != "P-256" {
                    return Err(JwkError::Unsupported(format!("EC curve {crv}")));
                }
                let coord = |name| {
                    <[u8; 32]>::try_from(bytes_member(o, name)?.as_slice())
                        .map_err(|_| JwkError::Unsupported(format!("P-256 {name} is not 32 bytes")))
                };
                Ok(Jwk::EcP256 {
                    x: coord("x")?,
                    y: coord("y")?,
                })
            }
            "RSA" => {
                let n = strip_zeros(&bytes_member(o, "n")?);
                let e = strip_zeros(&bytes_member(o, "e")?);
                let bits = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
                if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
                    return Err(JwkError::Unsupported(format!("RSA key of {bits} bits")));
                }
                if e.is_empty() || e.len() > 4 {
                    return Err(JwkError::Unsupported("RSA exponent size".into()));
                }
                Ok(Jwk::Rsa { n, e })
            }
            other => Err(JwkError::Unsupported(format!("kty {other}"))),
        }
    }

    /// `EC` or `RSA`.
    pub fn kty(&self) -> &'static str {
        match self {
            Jwk::EcP256 { .. } => "EC",
            Jwk::Rsa { .. } => "RSA",
        }
    }

    /// The algorithm this key signs with here.
    pub fn alg(&self) -> Alg {
        match self {
            Jwk::EcP256 { .. } => Alg::Es256,
            Jwk::Rsa { .. } => Alg::Rs256,
        }
    }

    /// The required members only, in RFC 7638's lexicographic order.
    pub fn to_json(&self) -> Value {
        match self {
            Jwk::EcP256 { x, y } => {
                json!({"crv": "P-256", "kty": "EC", "x": b64url(x), "y": b64url(y)})
            }
            Jwk::Rsa { n, e } => json!({"e": b64url(e), "kty": "RSA", "n": b64url(n)}),
        }
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url): a stable key id.
    pub fn thumbprint(&self) -> String {
        // serde_json's map without `preserve_order` is sorted, and the members have no characters
        // that need escaping, so this is exactly RFC 7638's input.
        let canonical = self.to_json().to_string();
        b64url(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            canonical.as_bytes(),
        ))
    }

    /// Checks `signature` over `message` with this key under `alg`; the key must be of `alg`'s
    /// kind.
    pub fn verify(&self, alg: Alg, message: &[u8], signature_bytes: &[u8]) -> bool {
        match (self, alg) {
            (Jwk::EcP256 { x, y }, Alg::Es256) => {
                let mut point = Vec::with_capacity(65);
                point.push(0x04);
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &point)
                    .verify(message, signature_bytes)
                    .is_ok()
            }
            (Jwk::Rsa { n, e }, Alg::Rs256) => signature::RsaPublicKeyComponents { n, e }
                .verify(
                    &signature::RSA_PKCS1_2048_8192_SHA256,
                    message,
                    signature_bytes,
                )
                .is_ok(),
            _ => false,
        }
    }
}

/// The protected header an issuer signs with: the signer (not its caller) decides all of it but
/// `typ`, which is picked from [`JwtType`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwsHeader {
    pub alg: Alg,
    pub typ: JwtType,
    /// The key id: the RFC 7638 thumbprint of the signing key, as in the published JWKS.
    pub kid: String,
    /// The certificate chain, leaf first, each DER certificate in standard base64 (RFC 7515
    /// §4.1.6). Empty: no `x5c` member.
    pub x5c: Vec<String>,
}

impl JwsHeader {
    /// The header as JSON.
    pub fn to_json(&self) -> Value {
        let mut h = json!({"alg": self.alg.as_str(), "typ": self.typ.as_str(), "kid": self.kid});
        if !self.x5c.is_empty()
            && let Some(o) = h.as_object_mut()
        {
            o.insert("x5c".into(), json!(self.x5c));
        }
        h
    }
}

/// Standard base64 of a DER certificate, as `x5c` wants it.
pub fn x5c_entry(der: &[u8]) -> String {
    STANDARD.encode(der)
}

/// Assembles a compact JWS: `sign` gets the signing input (`b64(header).b64(payload)`) and returns
/// the raw signature.
pub fn compact_jws<E>(
    header: &JwsHeader,
    payload: &[u8],
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<String, E> {
    let mut out = b64url(header.to_json().to_string());
    out.push('.');
    out.push_str(&b64url(payload));
    let sig = sign(out.as_bytes())?;
    out.push('.');
    out.push_str(&b64url(sig));
    Ok(out)
}

/// A signer failed (the Signer was unreachable, refused, …).
#[derive(Debug, thiserror::Error)]
#[error("JWS signing failed: {0}")]
pub struct SignError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// Signs JWTs for the issuer. The NCP's implementation calls the Signer's `SignJws` over gRPC (the
/// key never leaves the Signer); tests and tools use [`LocalSigner`]. The implementation chooses
/// `alg`, `kid` and `x5c`; the caller chooses only `typ` and the payload.
pub trait JwsSigner {
    /// Signs `payload` (a JSON object, UTF-8) and returns the compact JWS.
    fn sign_jws(
        &self,
        typ: JwtType,
        payload: &[u8],
    ) -> impl Future<Output = Result<String, SignError>> + Send;
}

enum LocalKey {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

/// A private key held in this process, for tests and tools (never the NCP: it has no key).
pub struct LocalSigner {
    key: LocalKey,
    jwk: Jwk,
    x5c: Vec<String>,
}

impl std::fmt::Debug for LocalSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LocalSigner({:?})", self.jwk)
    }
}

/// A key that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("not a PKCS#8 P-256 or RSA private key: {0}")]
pub struct KeyError(String);

impl LocalSigner {
    /// Reads a PKCS#8 DER private key: P-256 (signs `ES256`) or RSA (signs `RS256`).
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, KeyError> {
        if let Ok(k) = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der) {
            let point = k.public_key().as_ref();
            let (x, y) = match (point.get(1..33), point.get(33..65)) {
                (Some(x), Some(y)) if point.len() == 65 => (x, y),
                _ => return Err(KeyError("unexpected P-256 point".into())),
            };
            let mut xa = [0u8; 32];
            let mut ya = [0u8; 32];
            xa.copy_from_slice(x);
            ya.copy_from_slice(y);
            return Ok(Self {
                key: LocalKey::Ec(k),
                jwk: Jwk::ec_p256(xa, ya),
                x5c: Vec::new(),
            });
        }
        let k = RsaKeyPair::from_pkcs8(der).map_err(|e| KeyError(e.to_string()))?;
        let jwk = {
            let c: signature::RsaPublicKeyComponents<Vec<u8>> = k.public_key().into();
            Jwk::rsa(&c.n, &c.e)
        };
        Ok(Self {
            key: LocalKey::Rsa(k),
            jwk,
            x5c: Vec::new(),
        })
    }

    /// A fresh P-256 key.
    pub fn generate_es256() -> Result<Self, KeyError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|e| KeyError(e.to_string()))?;
        Self::from_pkcs8(doc.as_ref())
    }

    /// Adds the certificate chain (DER, leaf first) for the `x5c` header.
    pub fn with_x5c(mut self, chain_der: &[&[u8]]) -> Self {
        self.x5c = chain_der.iter().map(|c| x5c_entry(c)).collect();
        self
    }

    /// The public key.
    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// The header this signer puts on a JWS of type `typ`.
    pub fn header(&self, typ: JwtType) -> JwsHeader {
        JwsHeader {
            alg: self.jwk.alg(),
            typ,
            kid: self.jwk.thumbprint(),
            x5c: self.x5c.clone(),
        }
    }

    /// Signs raw bytes (the JWS signing input) with this key.
    pub fn sign_raw(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let failed = |what: &str| SignError(what.to_string().into());
        match &self.key {
            LocalKey::Ec(k) => k
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| failed("ECDSA signing failed")),
            LocalKey::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .map_err(|_| failed("RSA signing failed"))?;
                Ok(sig)
            }
        }
    }

    /// Signs a JWS with an arbitrary header (tests build hostile proofs with this).
    pub fn sign_with_header(&self, header: &Value, payload: &[u8]) -> Result<String, SignError> {
        let mut out = b64url(header.to_string());
        out.push('.');
        out.push_str(&b64url(payload));
        let sig = self.sign_raw(out.as_bytes())?;
        out.push('.');
        out.push_str(&b64url(sig));
        Ok(out)
    }
}

impl JwsSigner for LocalSigner {
    fn sign_jws(
        &self,
        typ: JwtType,
        payload: &[u8],
    ) -> impl Future<Output = Result<String, SignError>> + Send {
        let result = compact_jws(&self.header(typ), payload, |input| self.sign_raw(input));
        std::future::ready(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_thumbprint_example() {
        // RFC 7638 §3.1: the RSA key and its thumbprint.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        let key = Jwk::from_json(&jwk).expect("RFC 7638 key");
        assert_eq!(
            key.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn refuses_private_small_and_unknown_keys() {
        let signer = LocalSigner::generate_es256().expect("key");
        let mut public = signer.jwk().to_json();
        assert_eq!(Jwk::from_json(&public).as_ref(), Ok(signer.jwk()));
        public["d"] = json!("AAAA");
        assert_eq!(Jwk::from_json(&public), Err(JwkError::Private("d")));
        let small = json!({"kty": "RSA", "n": b64url([0xffu8; 128]), "e": "AQAB"});
        assert!(
            matches!(Jwk::from_json(&small), Err(JwkError::Unsupported(m)) if m.contains("1024"))
        );
        let sym = json!({"kty": "oct", "k": "c2VjcmV0"});
        assert!(Jwk::from_json(&sym).is_err());
        let p384 = json!({"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"});
        assert!(matches!(
            Jwk::from_json(&p384),
            Err(JwkError::Unsupported(_))
        ));
    }

    #[tokio::test]
    async fn local_signer_signs_what_the_key_verifies() {
        let signer = LocalSigner::generate_es256().expect("key");
        let jws = signer
            .sign_jws(JwtType::DcSdJwt, br#"{"a":1}"#)
            .await
            .expect("signed");
        let parts: Vec<&str> = jws.split('.').collect();
        assert_eq!(parts.len(), 3);
        let input = format!("{}.{}", parts[0], parts[1]);
        let sig = b64url_decode(parts[2]).expect("b64");
        assert!(signer.jwk().verify(Alg::Es256, input.as_bytes(), &sig));
        assert!(!signer.jwk().verify(Alg::Es256, b"other", &sig));
        assert!(!signer.jwk().verify(Alg::Rs256, input.as_bytes(), &sig));
        let header: Value =
            serde_json::from_slice(&b64url_decode(parts[0]).expect("b64")).expect("json");
        assert_eq!(header["typ"], "dc+sd-jwt");
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], signer.jwk().thumbprint());
    }
}
