//! The OpenID4VCI 1.0 endpoints of the wallet issuance (pre-authorized code flow): metadata,
//! token, nonce and credential. They answer JSON with the protocol's error codes (RFC 6749 §5.2
//! at the token endpoint, OpenID4VCI 1.0 §8.3.1.2 at the credential endpoint, RFC 6750 §3 for
//! the access token), never an HTML page. Every body is read with a size limit; every secret is
//! looked up by its hash; every state change is single-use in the store.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use emrex_proto::signer::v1::GetJwksResponse;
use emrex_runtime::grpc::error_chain;
use serde_json::{Value, json};

use super::Ncp;
use crate::exchange::now_ms;
use crate::wallet::Wallet;
use crate::wallet::issuer::{self, PRE_AUTHORIZED_GRANT};
use crate::wallet::store::{GrantError, TOKEN_TTL};

/// Largest token request (three short parameters).
pub const MAX_TOKEN_BODY: usize = 4 * 1024;
/// Largest credential request (one proof JWT of at most 8 KiB, and a few members).
pub const MAX_CREDENTIAL_BODY: usize = 16 * 1024;

fn json_response(status: StatusCode, value: &Value) -> Response {
    let mut r = (status, value.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// An OAuth/OpenID4VCI error response, counted by `error`.
fn error(ncp: &Ncp, status: StatusCode, code: &'static str, description: &str) -> Response {
    ncp.metrics.wallet_refused(code);
    tracing::info!(error = code, description, "wallet request refused");
    json_response(
        status,
        &json!({"error": code, "error_description": description}),
    )
}

/// The wallet (the routes exist only when it is on; this is for the type system).
fn wallet(ncp: &Ncp) -> Option<&Wallet> {
    ncp.wallet.as_ref()
}

fn not_found() -> Response {
    StatusCode::NOT_FOUND.into_response()
}

/// The wallet's store did not answer: `temporarily_unavailable` (the wallet may retry).
fn store_unavailable(ncp: &Ncp, e: &dyn std::error::Error) -> Response {
    tracing::warn!(error = %error_chain(e), "wallet store unavailable");
    error(
        ncp,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        "try again later",
    )
}

fn too_large(ncp: &Ncp) -> Response {
    error(
        ncp,
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request",
        "request body too large",
    )
}

/// The credential issuer metadata. `credential_signing_alg_values_supported` is what the Signer's
/// keys sign with (active, then next during a rotation; at most `JWKS_TTL` old, like
/// `jwt-vc-issuer`): a HAIP wallet that needs ES256 learns before the token step that an RSA key
/// would give it RS256.
pub(super) async fn issuer_metadata(State(ncp): State<Arc<Ncp>>) -> Response {
    let Some(w) = wallet(&ncp) else {
        return not_found();
    };
    let jwks = match signer_keys(&ncp).await {
        Ok(j) => j,
        Err(unavailable) => return unavailable,
    };
    let mut algs: Vec<&str> = Vec::new();
    for key in &jwks.keys {
        if !key.alg.is_empty() && !algs.contains(&key.alg.as_str()) {
            algs.push(&key.alg);
        }
    }
    if algs.is_empty() {
        tracing::warn!("the Signer published no key to sign credentials with");
        return signer_unavailable();
    }
    json_response(
        StatusCode::OK,
        &issuer::issuer_metadata(&w.issuer, &w.config.formats, &algs),
    )
}

/// The Signer's public keys, or the 503 to answer without them (logged).
async fn signer_keys(ncp: &Ncp) -> Result<Arc<GetJwksResponse>, Response> {
    ncp.signer.jwks().await.map_err(|e| {
        tracing::warn!(error = %error_chain(&e), "the Signer's keys are unavailable");
        signer_unavailable()
    })
}

/// 503 `temporarily_unavailable`: what depends on the Signer's keys cannot be answered now.
fn signer_unavailable() -> Response {
    json_response(
        StatusCode::SERVICE_UNAVAILABLE,
        &json!({"error": "temporarily_unavailable"}),
    )
}

pub(super) async fn authorization_server_metadata(State(ncp): State<Arc<Ncp>>) -> Response {
    let Some(w) = wallet(&ncp) else {
        return not_found();
    };
    json_response(
        StatusCode::OK,
        &issuer::authorization_server_metadata(&w.issuer),
    )
}

/// `jwt-vc-issuer`: the Signer's keys (active, and next during a rotation), at most `JWKS_TTL`
/// old (the next key is listed before the Signer signs with it, so that is soon enough).
pub(super) async fn jwt_vc_issuer(State(ncp): State<Arc<Ncp>>) -> Response {
    let Some(w) = wallet(&ncp) else {
        return not_found();
    };
    let jwks = match signer_keys(&ncp).await {
        Ok(j) => j,
        Err(unavailable) => return unavailable,
    };
    let Ok(set) = serde_json::from_str::<Value>(&jwks.jwks_json) else {
        return signer_unavailable();
    };
    json_response(
        StatusCode::OK,
        &issuer::jwt_vc_issuer_metadata(&w.issuer, set),
    )
}

/// The token endpoint: `grant_type=urn:ietf:params:oauth:grant-type:pre-authorized_code`,
/// `pre-authorized_code`, `tx_code` (form-encoded) → a Bearer access token.
pub(super) async fn token(State(ncp): State<Arc<Ncp>>, body: Body) -> Response {
    let Some(w) = wallet(&ncp) else {
        return not_found();
    };
    let Some(body) = emrex_web::read_bounded(body, MAX_TOKEN_BODY).await else {
        return too_large(&ncp);
    };
    let bad = |d: &str| error(&ncp, StatusCode::BAD_REQUEST, "invalid_request", d);
    let mut params = std::collections::HashMap::new();
    for (k, v) in url::form_urlencoded::parse(&body) {
        // RFC 6749 §3.2: parameters must not be repeated.
        if params.insert(k.into_owned(), v.into_owned()).is_some() {
            return bad("a parameter is repeated");
        }
    }
    let Some(grant_type) = params.get("grant_type") else {
        return bad("grant_type is missing");
    };
    if grant_type != PRE_AUTHORIZED_GRANT {
        return error(
            &ncp,
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only the pre-authorized code grant is supported",
        );
    }
    let Some(code) = params.get("pre-authorized_code").filter(|c| !c.is_empty()) else {
        return bad("pre-authorized_code is missing");
    };
    // OpenID4VCI 1.0 §6.3: a transaction code was announced, so its absence is invalid_request.
    let Some(tx_code) = params.get("tx_code") else {
        return bad("tx_code is missing");
    };
    match w.store.redeem(code, tx_code).await {
        Ok(access_token) => json_response(
            StatusCode::OK,
            &json!({
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": TOKEN_TTL.as_secs(),
            }),
        ),
        Err(GrantError::Store(e)) => store_unavailable(&ncp, &e),
        Err(e) => error(
            &ncp,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            &e.to_string(),
        ),
    }
}

/// The nonce endpoint (OpenID4VCI 1.0 §7): a fresh single-use `c_nonce`.
pub(super) async fn nonce(State(ncp): State<Arc<Ncp>>, body: Body) -> Response {
    let Some(w) = wallet(&ncp) else {
        return not_found();
    };
    if emrex_web::read_bounded(body, MAX_TOKEN_BODY)
        .await
        .is_none()
    {
        return too_large(&ncp);
    }
    match w.store.nonce().await {
        Ok(Some(n)) => json_response(StatusCode::OK, &json!({"c_nonce": n})),
        Ok(None) => error(
            &ncp,
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "too many nonces in use; try again later",
        ),
        Err(e) => store_unavailable(&ncp, &e),
    }
}

fn invalid_token(ncp: &Ncp, description: &str) -> Response {
    ncp.metrics.wallet_refused("invalid_token");
    tracing::info!(description, "wallet request refused: invalid_token");
    let mut r = json_response(
        StatusCode::UNAUTHORIZED,
        &json!({"error": "invalid_token", "error_description": description}),
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer error=\"invalid_token\""),
    );
    r
}

/// The credential endpoint (OpenID4VCI 1.0 §8): Bearer access token, JSON body with
/// `credential_configuration_id` and one key proof (`proofs.jwt[0]`, or the draft `proof`).
pub(super) async fn credential(
    State(ncp): State<Arc<Ncp>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(w) = wallet(&ncp) else {
        return not_found();
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return invalid_token(&ncp, "no Bearer access token");
    };
    let grant = match w.store.grant(token).await {
        Ok(Some(g)) => g,
        Ok(None) => return invalid_token(&ncp, "unknown, expired or used access token"),
        Err(e) => return store_unavailable(&ncp, &e),
    };
    let Some(body) = emrex_web::read_bounded(body, MAX_CREDENTIAL_BODY).await else {
        return too_large(&ncp);
    };
    let bad = |d: &str| {
        error(
            &ncp,
            StatusCode::BAD_REQUEST,
            "invalid_credential_request",
            d,
        )
    };
    let Ok(Value::Object(request)) = serde_json::from_slice::<Value>(&body) else {
        return bad("the body is not a JSON object");
    };
    if request.contains_key("credential_identifier") {
        return bad("credential_identifier is not used by this issuer");
    }
    let Some(id) = request
        .get("credential_configuration_id")
        .and_then(Value::as_str)
    else {
        return bad("credential_configuration_id is missing");
    };
    let Some(format) = issuer::format_of(id, &w.config.formats) else {
        return error(
            &ncp,
            StatusCode::BAD_REQUEST,
            "unknown_credential_configuration",
            "this credential configuration is not offered",
        );
    };
    let jwt = match key_proof(&request) {
        Ok(j) => j,
        Err(d) => return error(&ncp, StatusCode::BAD_REQUEST, "invalid_proof", d),
    };
    let now = now_ms() / 1000;
    // The nonce is checked against the store after the signature: an unsigned claim about a
    // nonce must not use one up.
    let nonce = proof_nonce(jwt);
    let Some(nonce) = nonce else {
        return error(
            &ncp,
            StatusCode::BAD_REQUEST,
            "invalid_nonce",
            "the proof has no c_nonce",
        );
    };
    let policy = emrex_sdjwt::ProofPolicy::new(w.issuer.clone(), Some(nonce.clone()), now);
    let proof = match emrex_sdjwt::verify_key_proof(jwt, &policy) {
        Ok(p) => p,
        Err(e) => {
            return error(
                &ncp,
                StatusCode::BAD_REQUEST,
                e.oid4vci_error(),
                &e.to_string(),
            );
        }
    };
    match w.store.take_nonce(&nonce).await {
        Ok(true) => {}
        Ok(false) => {
            return error(
                &ncp,
                StatusCode::BAD_REQUEST,
                "invalid_nonce",
                "the c_nonce is unknown, expired or used",
            );
        }
        Err(e) => return store_unavailable(&ncp, &e),
    }
    let vc = match w
        .issue(&ncp.signer, &grant.claims, proof.holder_jwk, format, now)
        .await
    {
        Ok(vc) => vc,
        Err(e) => {
            tracing::warn!(error = %error_chain(&e), "the credential could not be issued");
            ncp.metrics.wallet_refused("server_error");
            return json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"error": "server_error"}),
            );
        }
    };
    match w.store.mark_issued(&grant).await {
        Ok(true) => {}
        Ok(false) => return invalid_token(&ncp, "the credential of this offer was already issued"),
        Err(e) => return store_unavailable(&ncp, &e),
    }
    ncp.metrics.wallet_issued.inc();
    tracing::info!(format = format.as_str(), "wallet credential issued");
    json_response(
        StatusCode::OK,
        &json!({"credentials": [{"credential": vc.to_string()}]}),
    )
}

/// The one `jwt` proof of a request: `proofs: {"jwt": [p]}` (1.0) or `proof: {"proof_type":
/// "jwt", "jwt": p}` (drafts). More than one proof asks for a batch, which this issuer (one
/// credential per offer) does not issue.
fn key_proof(request: &serde_json::Map<String, Value>) -> Result<&str, &'static str> {
    match (request.get("proofs"), request.get("proof")) {
        (Some(_), Some(_)) => Err("proof and proofs are both present"),
        (Some(Value::Object(proofs)), None) => {
            if proofs.len() != 1 {
                return Err("proofs must hold exactly one proof type, jwt");
            }
            match proofs
                .get("jwt")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
            {
                Some([Value::String(p)]) => Ok(p),
                Some(_) => Err("exactly one jwt proof is accepted"),
                None => Err("only proof type jwt is supported"),
            }
        }
        (None, Some(Value::Object(proof))) => {
            if proof.get("proof_type").and_then(Value::as_str) != Some("jwt") {
                return Err("only proof type jwt is supported");
            }
            proof
                .get("jwt")
                .and_then(Value::as_str)
                .ok_or("proof.jwt is missing")
        }
        (None, None) => Err("no key proof"),
        _ => Err("the key proof is malformed"),
    }
}

/// The `nonce` claim of a proof JWT, read before its signature is checked (the checked value is
/// then required to equal it).
fn proof_nonce(jwt: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    if payload.len() > 16 * 1024 {
        return None;
    }
    let bytes = emrex_sdjwt::jose::b64url_decode(payload)?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.get("nonce")?.as_str().map(str::to_owned)
}
