//! The wallet issuance end to end over real HTTP: an in-process NCP with a real Signer, the
//! student consents with the wallet option, the offer page carries the offer and the return form
//! with the same ELMO as without it; a wallet (keys and key proofs made by npm `jose`, nothing of
//! ours) takes the offer through metadata, token, nonce and credential; npm `@sd-jwt/sd-jwt-vc`
//! verifies the SD-JWT VC against the keys the NCP publishes, every disclosure, `vct`, and a
//! key-binding presentation; its ELM content matches the ELMO the client received. Then each
//! hostile case, asserting the protocol's error code.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use emrex_elmo::Budget;
use emrex_tests::sdjwt::{elm_results, strings};
use serde_json::{Value, json};
use support::{Agent, TestNcp, input, input_values, return_fields};

const RETURN: &str = "http://127.0.0.1:9/emrex/return";
const PRE_AUTH: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

/// What the student leaves the consent page with.
struct Consented {
    /// The decoded offer (`credential_offer` of the URI).
    offer: Value,
    uri: String,
    tx_code: String,
    /// The four return fields (as the client would receive them).
    fields: std::collections::HashMap<String, String>,
    /// Titles of offered courses the student did not choose.
    unchosen: Vec<String>,
    page: support::Page,
}

fn label_text(html: &str, key: &str) -> String {
    let start = html
        .find(&format!("for=\"c-{key}\">"))
        .expect("label of the course");
    let rest = &html[start..];
    let rest = &rest[rest.find('>').expect("tag end") + 1..];
    let inner = &rest[..rest.find("</label>").expect("label end")];
    // Drop a `<span lang=…>` around the title.
    let mut out = String::new();
    let mut in_tag = false;
    for c in inner.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.trim().to_string()
}

/// Enter, log in as `student`, choose the first and fourth offered results, consent with the
/// wallet option (`wallet`), and read the answer page.
async fn consent(ncp: &TestNcp, agent: &mut Agent, wallet: bool) -> Consented {
    let r = agent
        .post(
            &format!("{}/", ncp.base),
            &[("sessionId", "wallet-1"), ("returnUrl", RETURN)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let url = format!("{}{}", ncp.base, r.location.expect("location"));
    let login = agent.get(&url).await;
    let csrf = input(&login.body, "csrf");
    let r = agent
        .post(
            &format!("{url}/login/dev"),
            &[("csrf", &csrf), ("student", "demo-asa")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let select = agent.get(&url).await;
    assert!(
        select.body.contains("name=\"wallet\" value=\"yes\""),
        "the wallet option is on the consent page"
    );
    let offered = input_values(&select.body, "course");
    assert_eq!(offered.len(), 5, "{offered:?}");
    let unchosen = [1usize, 2, 4]
        .iter()
        .map(|&i| label_text(&select.body, &offered[i]))
        .collect();
    let csrf = input(&select.body, "csrf");
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("course", offered[0].as_str()),
        ("course", offered[3].as_str()),
        ("consent", "yes"),
    ];
    if wallet {
        form.push(("wallet", "yes"));
    }
    let page = agent.post(&format!("{url}/send"), &form).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let fields = return_fields(&page.body);
    if !wallet {
        return Consented {
            offer: Value::Null,
            uri: String::new(),
            tx_code: String::new(),
            fields,
            unchosen,
            page,
        };
    }
    let href_at = page
        .body
        .find("href=\"openid-credential-offer://")
        .expect("same-device link");
    let rest = &page.body[href_at + 6..];
    let uri = rest[..rest.find('"').expect("end")].replace("&amp;", "&");
    let query = uri
        .strip_prefix("openid-credential-offer://?")
        .expect("offer scheme");
    let (name, value) = url::form_urlencoded::parse(query.as_bytes())
        .next()
        .expect("parameter");
    assert_eq!(name, "credential_offer");
    let offer: Value = serde_json::from_str(&value).expect("offer JSON");
    let tx_at = page.body.find("id=\"tx-code\"").expect("tx code shown");
    let rest = &page.body[tx_at..];
    let rest = &rest[rest.find('>').expect(">") + 1..];
    let tx_code = rest[..rest.find('<').expect("<")].trim().to_string();
    Consented {
        offer,
        uri,
        tx_code,
        fields,
        unchosen,
        page,
    }
}

async fn json_of(r: reqwest::Response) -> Value {
    let text = r.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A wallet's HTTP side.
struct Wallet {
    http: reqwest::Client,
}

impl Wallet {
    fn new() -> Self {
        Self {
            http: reqwest::Client::new(),
        }
    }

    async fn get(&self, url: &str) -> (u16, Value) {
        let r = self.http.get(url).send().await.expect("GET");
        let s = r.status().as_u16();
        (s, json_of(r).await)
    }

    async fn token(&self, issuer: &str, fields: &[(&str, &str)]) -> (u16, Value) {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.token_raw(issuer, body).await
    }

    async fn token_raw(&self, issuer: &str, body: String) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{issuer}/wallet/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("token");
        let s = r.status().as_u16();
        (s, json_of(r).await)
    }

    async fn nonce(&self, issuer: &str) -> String {
        let r = self
            .http
            .post(format!("{issuer}/wallet/nonce"))
            .send()
            .await
            .expect("nonce");
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers().get("cache-control").expect("cache-control"),
            "no-store"
        );
        let v = json_of(r).await;
        v["c_nonce"].as_str().expect("c_nonce").to_string()
    }

    /// Returns status, body and the WWW-Authenticate header.
    async fn credential(
        &self,
        issuer: &str,
        token: &str,
        body: String,
    ) -> (u16, Value, Option<String>) {
        let r = self
            .http
            .post(format!("{issuer}/wallet/credential"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("credential");
        let s = r.status().as_u16();
        let www = r
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().expect("ascii").to_string());
        (s, json_of(r).await, www)
    }
}

/// A fresh wallet key and its key proof for (`aud`, `nonce`), made by npm `jose`.
fn proof(aud: &str, nonce: &str) -> Value {
    let v = emrex_tests::sdjwt::oracle(
        &json!({"mode": "wallet", "alg": "ES256", "aud": aud, "nonce": nonce}),
    );
    assert_eq!(v["ok"], true, "{v}");
    v
}

fn request(config: &str, proof_jwt: &str) -> String {
    json!({"credential_configuration_id": config, "proofs": {"jwt": [proof_jwt]}}).to_string()
}

async fn token_for(w: &Wallet, c: &Consented) -> String {
    let issuer = c.offer["credential_issuer"].as_str().expect("issuer");
    let code = c.offer["grants"][PRE_AUTH]["pre-authorized_code"]
        .as_str()
        .expect("code");
    let (s, t) = w
        .token(
            issuer,
            &[
                ("grant_type", PRE_AUTH),
                ("pre-authorized_code", code),
                ("tx_code", &c.tx_code),
            ],
        )
        .await;
    assert_eq!(s, 200, "{t}");
    t["access_token"].as_str().expect("token").to_string()
}

/// (title, grade, credits) of every learning opportunity of the ELMO the client received.
fn elmo_results(elmo_param: &str) -> BTreeSet<(String, String, String)> {
    let xml = emrex_elmo::transport::decode(elmo_param, &Budget::default()).expect("decode");
    let elmo = emrex_elmo::parse(&xml, &emrex_elmo::Limits::default()).expect("parse");
    emrex_tests::sdjwt::elmo_results(&elmo)
}

/// The JWS algorithm the Signer's key implies.
fn expected_alg(jwk: &Value) -> &'static str {
    if jwk["kty"] == "EC" { "ES256" } else { "RS256" }
}

/// Checks an issued credential as a verifier would, with npm `@sd-jwt/sd-jwt-vc`: the signature
/// against the key the NCP publishes in `jwt-vc-issuer`, every disclosure, `vct`, `iss`, `exp`,
/// `cnf.jwk` = the wallet's key, names and each result selectively disclosable; its ELM content
/// equals `sent` (the ELMO the client received) and holds nothing unconsented; and a key-binding
/// presentation of one result made with the wallet's private key verifies.
async fn verify_and_compare(
    w: &Wallet,
    issuer: &str,
    credential: &str,
    public_jwk: &Value,
    private_jwk: &Value,
    c: &Consented,
    sent: &BTreeSet<(String, String, String)>,
) {
    // Independent verification against the published keys.
    let (s, jwt_vc_issuer) = w.get(&format!("{issuer}/.well-known/jwt-vc-issuer")).await;
    assert_eq!(s, 200);
    assert_eq!(jwt_vc_issuer["issuer"], issuer);
    let header: Value = serde_json::from_slice(
        &emrex_sdjwt::jose::b64url_decode(credential.split('.').next().expect("header"))
            .expect("b64"),
    )
    .expect("header JSON");
    let issuer_jwk = jwt_vc_issuer["jwks"]["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the credential's kid is published")
        .clone();
    let verdict = emrex_tests::sdjwt::oracle(&json!({
        "mode": "verify", "credential": credential, "issuerJwk": issuer_jwk,
    }));
    assert_eq!(verdict["ok"], true, "{verdict}");
    let payload = &verdict["payload"];
    assert_eq!(payload["vct"], "urn:eudi:elm:1");
    assert_eq!(payload["iss"], issuer);
    assert_eq!(verdict["header"]["typ"], "dc+sd-jwt");
    assert_eq!(
        verdict["header"]["alg"],
        expected_alg(&issuer_jwk),
        "{}",
        verdict["header"]
    );
    // The metadata promised the algorithm the credential came with, and only that one (no
    // rotation under way): a wallet that needs another one knows before it starts.
    let (s, meta) = w
        .get(&format!("{issuer}/.well-known/openid-credential-issuer"))
        .await;
    assert_eq!(s, 200);
    let configurations = meta["credential_configurations_supported"]
        .as_object()
        .expect("configurations");
    assert!(!configurations.is_empty());
    for (id, config) in configurations {
        assert_eq!(
            config["credential_signing_alg_values_supported"],
            json!([verdict["header"]["alg"]]),
            "{id}"
        );
    }
    assert_eq!(&payload["cnf"]["jwk"], public_jwk);
    let exp = payload["exp"].as_i64().expect("exp") - payload["iat"].as_i64().expect("iat");
    assert_eq!(exp, 365 * 86_400);
    let subject = &payload["elm"]["credentialSubject"];
    assert_eq!(subject["familyName"]["und"], "Ødegård", "{subject}");
    // Names and each result are disclosures, not plain claims.
    let disclosed: Vec<Value> = verdict["disclosures"]
        .as_array()
        .expect("disclosures")
        .clone();
    let keys: BTreeSet<String> = disclosed
        .iter()
        .filter_map(|d| d["key"].as_str().map(str::to_owned))
        .collect();
    assert!(
        keys.contains("givenName") && keys.contains("familyName"),
        "{keys:?}"
    );
    let array_elements = disclosed.iter().filter(|d| d["key"].is_null()).count();
    assert_eq!(array_elements, 2, "one disclosure per result");

    // The ELM content is what the client received: same courses, grades, credits.
    let mut in_wallet = BTreeSet::new();
    elm_results(&subject["hasClaim"], &mut in_wallet);
    assert_eq!(&in_wallet, sent);
    // Nothing unconsented: no other course appears anywhere in the credential.
    let mut everything = Vec::new();
    strings(payload, &mut everything);
    disclosed
        .iter()
        .for_each(|d| strings(&d["value"], &mut everything));
    for title in &c.unchosen {
        assert!(
            !everything.iter().any(|s| s == title),
            "{title} was not consented"
        );
    }

    // Key binding: the holder presents one result with a KB-JWT made with the wallet's key.
    let presented = emrex_tests::sdjwt::oracle(&json!({
        "mode": "present", "credential": credential, "issuerJwk": issuer_jwk,
        "frame": {"elm": {"credentialSubject": {"givenName": true, "hasClaim": {"0": true}}}},
        "holderPrivateJwk": private_jwk, "aud": "https://verifier.example", "nonce": "n-1",
    }));
    assert_eq!(presented["ok"], true, "{presented}");
    assert_eq!(presented["kb"]["payload"]["nonce"], "n-1");
    let shown = &presented["payload"]["elm"]["credentialSubject"];
    assert!(shown["familyName"].is_null(), "not presented: {shown}");
    assert_eq!(shown["hasClaim"].as_array().map(Vec::len), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wallet_takes_the_consented_results_and_they_match_what_the_client_got() {
    let ncp = TestNcp::start(|c| c.wallet.enabled = true).await;
    let mut agent = Agent::new();
    let c = consent(&ncp, &mut agent, true).await;

    // The offer page: the return form is there but not auto-submitted, its CSP allows no script
    // and posts only to the client; QR code, code and lifetime are shown.
    assert!(!c.page.body.contains("<script"), "{}", c.page.body);
    let csp = c.page.csp.clone().expect("csp");
    assert!(csp.contains("form-action http://127.0.0.1:9"), "{csp}");
    assert!(!csp.contains("script-src"), "{csp}");
    assert!(c.page.body.contains("<svg"), "QR code");
    assert!(c.page.body.contains("works for 10 min "), "lifetime shown");
    assert_eq!(c.tx_code.len(), 6);
    assert!(c.tx_code.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(c.fields["returnCode"], "NCP_OK");
    let grant = &c.offer["grants"][PRE_AUTH];
    assert_eq!(grant["tx_code"]["length"], 6);
    assert_eq!(grant["tx_code"]["input_mode"], "numeric");
    assert!(
        c.uri
            .starts_with("openid-credential-offer://?credential_offer=")
    );

    // The ELMO the client receives is the same with and without the wallet option.
    let mut other = Agent::new();
    let plain = consent(&ncp, &mut other, false).await;
    let sent = elmo_results(&c.fields["elmo"]);
    assert_eq!(sent, elmo_results(&plain.fields["elmo"]));
    assert_eq!(sent.len(), 2, "{sent:?}");

    // The wallet: metadata, token, nonce, proof, credential.
    let issuer = c.offer["credential_issuer"].as_str().expect("issuer");
    assert_eq!(issuer, ncp.base);
    let w = Wallet::new();
    let (s, meta) = w
        .get(&format!("{issuer}/.well-known/openid-credential-issuer"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(meta["credential_issuer"], issuer);
    let config_id = c.offer["credential_configuration_ids"][0]
        .as_str()
        .expect("config id");
    let config = &meta["credential_configurations_supported"][config_id];
    assert_eq!(config["format"], "dc+sd-jwt");
    assert_eq!(config["vct"], "urn:eudi:elm:1");
    assert_eq!(config["cryptographic_binding_methods_supported"][0], "jwk");
    let (s, asm) = w
        .get(&format!("{issuer}/.well-known/oauth-authorization-server"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(asm["token_endpoint"], format!("{issuer}/wallet/token"));
    let token = token_for(&w, &c).await;
    let nonce_endpoint = meta["nonce_endpoint"].as_str().expect("nonce endpoint");
    assert_eq!(nonce_endpoint, format!("{issuer}/wallet/nonce"));
    let nonce = w.nonce(issuer).await;
    let key = proof(issuer, &nonce);
    let (s, body, _) = w
        .credential(
            issuer,
            &token,
            request(config_id, key["proof"].as_str().expect("proof")),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let credential = body["credentials"][0]["credential"]
        .as_str()
        .expect("credential")
        .to_string();

    verify_and_compare(
        &w,
        issuer,
        &credential,
        &key["publicJwk"],
        &key["privateJwk"],
        &c,
        &sent,
    )
    .await;

    // One credential per offer: the same token again is refused.
    let nonce = w.nonce(issuer).await;
    let again = proof(issuer, &nonce);
    let (s, body, www) = w
        .credential(
            issuer,
            &token,
            request(config_id, again["proof"].as_str().expect("proof")),
        )
        .await;
    assert_eq!((s, body["error"].as_str()), (401, Some("invalid_token")));
    assert!(www.expect("WWW-Authenticate").contains("invalid_token"));
    // And the pre-authorized code is spent.
    let code = grant["pre-authorized_code"].as_str().expect("code");
    let (s, body) = w
        .token(
            issuer,
            &[
                ("grant_type", PRE_AUTH),
                ("pre-authorized_code", code),
                ("tx_code", &c.tx_code),
            ],
        )
        .await;
    assert_eq!((s, body["error"].as_str()), (400, Some("invalid_grant")));

    let metrics = ncp.metrics_text();
    assert!(
        metrics.contains("emrex_ncp_wallet_offers_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("emrex_ncp_wallet_issued_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("emrex_ncp_wallet_refused_total{error=\"invalid_grant\"} 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_wallets_get_the_protocol_error_codes() {
    let ncp = TestNcp::start(|c| c.wallet.enabled = true).await;
    let w = Wallet::new();
    let issuer = ncp.base.clone();
    let mut agent = Agent::new();
    let c = consent(&ncp, &mut agent, true).await;
    let code = c.offer["grants"][PRE_AUTH]["pre-authorized_code"]
        .as_str()
        .expect("code")
        .to_string();
    let tok = |tx: &str| {
        vec![
            ("grant_type".to_string(), PRE_AUTH.to_string()),
            ("pre-authorized_code".to_string(), code.clone()),
            ("tx_code".to_string(), tx.to_string()),
        ]
    };
    let call = |fields: Vec<(String, String)>| {
        let w = &w;
        let issuer = issuer.clone();
        async move {
            let f: Vec<(&str, &str)> = fields
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect();
            w.token(&issuer, &f).await
        }
    };

    // Token endpoint: wrong grant type, missing parameters, repeated parameters, oversize.
    let (s, b) = w
        .token(
            &issuer,
            &[("grant_type", "authorization_code"), ("code", "x")],
        )
        .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (s, b) = w
        .token(
            &issuer,
            &[("grant_type", PRE_AUTH), ("pre-authorized_code", &code)],
        )
        .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_request")),
        "no tx_code"
    );
    let (s, b) = w
        .token_raw(
            &issuer,
            format!("grant_type={PRE_AUTH}&grant_type={PRE_AUTH}"),
        )
        .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_request")));
    let (s, b) = w
        .token_raw(
            &issuer,
            format!("grant_type=x&pad={}", "a".repeat(64 * 1024)),
        )
        .await;
    assert_eq!((s, b["error"].as_str()), (413, Some("invalid_request")));
    let (s, b) = w
        .token(
            &issuer,
            &[
                ("grant_type", PRE_AUTH),
                ("pre-authorized_code", "forged"),
                ("tx_code", "123456"),
            ],
        )
        .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));

    // Wrong transaction codes: refused, and after five the offer is dead even for the right one.
    let wrong = if c.tx_code == "000000" {
        "000001"
    } else {
        "000000"
    };
    for _ in 0..5 {
        let (s, b) = call(tok(wrong)).await;
        assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    }
    let (s, b) = call(tok(&c.tx_code)).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_grant")),
        "locked out"
    );

    // A fresh offer for the credential endpoint's cases.
    let mut agent = Agent::new();
    let c = consent(&ncp, &mut agent, true).await;
    let token = token_for(&w, &c).await;
    let config_id = "elm_dc_sd_jwt";
    // Replayed pre-authorized code.
    let code2 = c.offer["grants"][PRE_AUTH]["pre-authorized_code"]
        .as_str()
        .expect("code");
    let (s, b) = w
        .token(
            &issuer,
            &[
                ("grant_type", PRE_AUTH),
                ("pre-authorized_code", code2),
                ("tx_code", &c.tx_code),
            ],
        )
        .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_grant")),
        "replay"
    );

    // No or a forged access token.
    let (s, b, www) = w.credential(&issuer, "forged", "{}".into()).await;
    assert_eq!((s, b["error"].as_str()), (401, Some("invalid_token")));
    assert!(
        www.expect("www-authenticate")
            .starts_with("Bearer error=\"invalid_token\"")
    );

    // A configuration that is not offered (vc+sd-jwt is not configured here) or unknown.
    let nonce = w.nonce(&issuer).await;
    let p = proof(&issuer, &nonce);
    let pj = p["proof"].as_str().expect("proof");
    for id in ["elm_vc_sd_jwt", "pid"] {
        let (s, b, _) = w.credential(&issuer, &token, request(id, pj)).await;
        assert_eq!(
            (s, b["error"].as_str()),
            (400, Some("unknown_credential_configuration"))
        );
    }
    // Malformed requests.
    let (s, b, _) = w.credential(&issuer, &token, "[1]".into()).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_credential_request"))
    );
    let (s, b, _) = w
        .credential(
            &issuer,
            &token,
            json!({"credential_configuration_id": config_id, "proofs": {"jwt": [pj, pj]}})
                .to_string(),
        )
        .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_proof")),
        "a batch"
    );
    // Oversized body.
    let (s, b, _) = w
        .credential(
            &issuer,
            &token,
            json!({"credential_configuration_id": config_id, "pad": "a".repeat(64 * 1024)})
                .to_string(),
        )
        .await;
    assert_eq!((s, b["error"].as_str()), (413, Some("invalid_request")));

    // A proof signed with another key than its jwk header: header of one key, signature of another.
    let other = proof(&issuer, &nonce);
    let mine: Vec<&str> = pj.split('.').collect();
    let theirs: Vec<&str> = other["proof"].as_str().expect("proof").split('.').collect();
    let swapped = format!("{}.{}.{}", theirs[0], mine[1], mine[2]);
    let (s, b, _) = w
        .credential(&issuer, &token, request(config_id, &swapped))
        .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_proof")),
        "{b}"
    );
    // A nonce the issuer never gave, and no nonce.
    let made_up = proof(&issuer, "made-up-nonce");
    let (s, b, _) = w
        .credential(
            &issuer,
            &token,
            request(config_id, made_up["proof"].as_str().expect("p")),
        )
        .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_nonce")),
        "{b}"
    );
    // Another audience.
    let foreign = proof("https://other-issuer.example", &nonce);
    let (s, b, _) = w
        .credential(
            &issuer,
            &token,
            request(config_id, foreign["proof"].as_str().expect("p")),
        )
        .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_proof")),
        "{b}"
    );
    // None of this used the nonce or the offer: the proper request still succeeds, once.
    let (s, b, _) = w.credential(&issuer, &token, request(config_id, pj)).await;
    assert_eq!(s, 200, "{b}");
    // The nonce is single use.
    let mut agent = Agent::new();
    let c3 = consent(&ncp, &mut agent, true).await;
    let token3 = token_for(&w, &c3).await;
    let (s, b, _) = w.credential(&issuer, &token3, request(config_id, pj)).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_nonce")),
        "{b}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_offer_is_refused_and_a_disabled_wallet_has_no_endpoints() {
    let ncp = TestNcp::start(|c| {
        c.wallet.enabled = true;
        c.wallet.offer_ttl = Duration::from_secs(1);
    })
    .await;
    let mut agent = Agent::new();
    let c = consent(&ncp, &mut agent, true).await;
    assert!(c.page.body.contains("works for 1 min "), "rounded up");
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let w = Wallet::new();
    let code = c.offer["grants"][PRE_AUTH]["pre-authorized_code"]
        .as_str()
        .expect("code");
    let (s, b) = w
        .token(
            &ncp.base,
            &[
                ("grant_type", PRE_AUTH),
                ("pre-authorized_code", code),
                ("tx_code", &c.tx_code),
            ],
        )
        .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_grant")),
        "{b}"
    );

    // The Signer's keys are asked for at most once per JWKS_TTL (the endpoints are open to
    // anyone): with the Signer stopped, the keys it gave a moment ago still answer…
    let mut down = TestNcp::start(|c| c.wallet.enabled = true).await;
    let names = ["openid-credential-issuer", "jwt-vc-issuer"];
    for name in names {
        let (s, b) = w.get(&format!("{}/.well-known/{name}", down.base)).await;
        assert_eq!(s, 200, "{name}: {b}");
    }
    down.stop_signer().await;
    for name in names {
        let (s, b) = w.get(&format!("{}/.well-known/{name}", down.base)).await;
        assert_eq!(s, 200, "{name} from the cache: {b}");
    }
    // …and once they are too old, what depends on them says so (503) instead of promising an
    // algorithm.
    tokio::time::sleep(emrex_ncp::clients::JWKS_TTL).await;
    for name in names {
        let (s, b) = w.get(&format!("{}/.well-known/{name}", down.base)).await;
        assert_eq!(
            (s, b["error"].as_str()),
            (503, Some("temporarily_unavailable")),
            "{name}: {b}"
        );
    }

    // Off by default: no option on the page, no issuer endpoints.
    let off = TestNcp::start(|_| {}).await;
    let (s, _) = w
        .get(&format!(
            "{}/.well-known/openid-credential-issuer",
            off.base
        ))
        .await;
    assert_eq!(s, 404);
    let (s, _) = w.token(&off.base, &[("grant_type", PRE_AUTH)]).await;
    assert_eq!(s, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openid4vci_client_from_npm_takes_the_offer_as_a_wallet() {
    let ncp = TestNcp::start(|c| c.wallet.enabled = true).await;
    let mut agent = Agent::new();
    let c = consent(&ncp, &mut agent, true).await;
    let sent = elmo_results(&c.fields["elmo"]);
    // The wallet (npm @openid4vc/openid4vci) gets only what a student's phone would: the URI of
    // the QR code and the code the student types in.
    let request = json!({"offerUri": c.uri, "txCode": c.tx_code});
    let got = tokio::task::spawn_blocking(move || emrex_tests::sdjwt::wallet(&request))
        .await
        .expect("wallet task");
    assert_eq!(got["ok"], true, "{got}");
    assert_eq!(got["credentialConfigurationId"], "elm_dc_sd_jwt");
    // The library reads our metadata as OpenID4VCI 1.0 (final), not as a draft.
    assert_eq!(got["version"], "V1", "{got}");
    assert_eq!(got["tokenResponse"]["token_type"], "Bearer");
    let credential = got["credential"].as_str().expect("credential").to_string();
    let w = Wallet::new();
    verify_and_compare(
        &w,
        &ncp.base,
        &credential,
        &got["publicJwk"],
        &got["privateJwk"],
        &c,
        &sent,
    )
    .await;

    // The same offer taken again by the same client library is refused at the token endpoint.
    let request = json!({"offerUri": c.uri, "txCode": c.tx_code});
    let again = tokio::task::spawn_blocking(move || emrex_tests::sdjwt::wallet(&request))
        .await
        .expect("wallet task");
    assert_eq!(again["ok"], false, "{again}");
    assert!(again.to_string().contains("invalid_grant"), "{again}");
}

/// HAIP and the EUDI wallets require ES256: with a P-256 Signer key (as `emrex dev` has) the
/// credential is ES256 and the npm wallet and verifier take it; with the RSA key of the other
/// tests it is RS256 (checked there).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_p256_signer_key_the_credential_is_es256() {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("P-256 key");
    let ncp = TestNcp::start_with_signer_key(key, |c| c.wallet.enabled = true).await;
    let mut agent = Agent::new();
    let c = consent(&ncp, &mut agent, true).await;
    let sent = elmo_results(&c.fields["elmo"]);
    let request = json!({"offerUri": c.uri, "txCode": c.tx_code});
    let got = tokio::task::spawn_blocking(move || emrex_tests::sdjwt::wallet(&request))
        .await
        .expect("wallet task");
    assert_eq!(got["ok"], true, "{got}");
    let credential = got["credential"].as_str().expect("credential").to_string();
    let header: Value = serde_json::from_slice(
        &emrex_sdjwt::jose::b64url_decode(credential.split('.').next().expect("header"))
            .expect("b64"),
    )
    .expect("header JSON");
    assert_eq!(header["alg"], "ES256");
    verify_and_compare(
        &Wallet::new(),
        &ncp.base,
        &credential,
        &got["publicJwk"],
        &got["privateJwk"],
        &c,
        &sent,
    )
    .await;
}
