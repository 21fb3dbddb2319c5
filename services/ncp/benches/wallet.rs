//! What the wallet option costs: complete provider exchanges over HTTP with and without the
//! wallet, interleaved in the same run on one in-process NCP with a real Signer.
//!
//! * baseline: one exchange (entry → login → selection → send 2 courses → return form);
//! * the same exchange with the wallet box ticked (ELM conversion and the stored offer, the offer
//!   page with its QR code);
//! * that, plus the whole issuance a wallet drives: token (with the transaction code), nonce, key
//!   proof (ES256, made here with `emrex-sdjwt`'s `LocalSigner`, as a wallet would), credential
//!   (SD-JWT VC signed by the Signer).
//!
//! Reported: medians and the ratio of each to the baseline. Run:
//! `cargo bench -p emrex-ncp --bench wallet` (`EMREX_BENCH_ITERS`, default 40 of each).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use serde_json::{Value, json};
use support::{Agent, TestNcp, input, input_values, return_fields};

const PRE_AUTH: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

/// One exchange; with `wallet`, returns the offer page's pre-authorized code and tx code.
async fn exchange(ncp: &TestNcp, wallet: bool) -> Option<(String, String)> {
    let mut a = Agent::new();
    let r = a
        .post(
            &format!("{}/", ncp.base),
            &[
                ("sessionId", "bench"),
                ("returnUrl", "http://127.0.0.1:9/r"),
            ],
        )
        .await;
    let url = format!("{}{}", ncp.base, r.location.expect("location"));
    let login = a.get(&url).await;
    let csrf = input(&login.body, "csrf");
    a.post(
        &format!("{url}/login/dev"),
        &[("csrf", &csrf), ("student", "demo-asa")],
    )
    .await;
    let select = a.get(&url).await;
    let courses = input_values(&select.body, "course");
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("course", courses[0].as_str()),
        ("course", courses[3].as_str()),
        ("consent", "yes"),
    ];
    if wallet {
        form.push(("wallet", "yes"));
    }
    let r = a.post(&format!("{url}/send"), &form).await;
    let f = return_fields(&r.body);
    assert_eq!(f["returnCode"], "NCP_OK");
    if !wallet {
        return None;
    }
    let marker = "pre-authorized_code%22%3A%22";
    let at = r.body.find(marker).expect("offer") + marker.len();
    let code = r.body[at..][..r.body[at..].find("%22").expect("end")].to_string();
    let tx_at = r.body.find("id=\"tx-code\"").expect("tx");
    let rest = &r.body[tx_at..];
    let rest = &rest[rest.find('>').expect(">") + 1..];
    let tx = rest[..rest.find('<').expect("<")].trim().to_string();
    Some((code, tx))
}

async fn json_of(r: reqwest::Response) -> Value {
    serde_json::from_str(&r.text().await.expect("body")).expect("json")
}

/// The wallet's side: token, nonce, proof, credential.
async fn issue(ncp: &TestNcp, http: &reqwest::Client, code: &str, tx: &str) {
    let form = format!("grant_type={PRE_AUTH}&pre-authorized_code={code}&tx_code={tx}");
    let t = json_of(
        http.post(format!("{}/wallet/token", ncp.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .expect("token"),
    )
    .await;
    let token = t["access_token"].as_str().expect("access_token");
    let n = json_of(
        http.post(format!("{}/wallet/nonce", ncp.base))
            .send()
            .await
            .expect("nonce"),
    )
    .await;
    let key = emrex_sdjwt::LocalSigner::generate_es256().expect("key");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let proof = key
        .sign_with_header(
            &json!({"alg": "ES256", "typ": "openid4vci-proof+jwt", "jwk": key.jwk().to_json()}),
            json!({"aud": ncp.base, "iat": now, "nonce": n["c_nonce"]})
                .to_string()
                .as_bytes(),
        )
        .expect("proof");
    let r = http
        .post(format!("{}/wallet/credential", ncp.base))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(
            json!({"credential_configuration_id": "elm_dc_sd_jwt", "proofs": {"jwt": [proof]}})
                .to_string(),
        )
        .send()
        .await
        .expect("credential");
    assert_eq!(r.status(), 200);
    let c = json_of(r).await;
    assert!(c["credentials"][0]["credential"].is_string());
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let iters: usize = std::env::var("EMREX_BENCH_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let ncp = TestNcp::start(|c| c.wallet.enabled = true).await;
        let http = reqwest::Client::new();
        for _ in 0..3 {
            exchange(&ncp, false).await;
            if let Some((code, tx)) = exchange(&ncp, true).await {
                issue(&ncp, &http, &code, &tx).await;
            }
        }
        let (mut plain, mut offer, mut full, mut wallet_part) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        // Interleaved, so drift on the shared machine hits all three alike.
        for _ in 0..iters {
            let t = Instant::now();
            exchange(&ncp, false).await;
            plain.push(t.elapsed().as_secs_f64());

            let t = Instant::now();
            exchange(&ncp, true).await;
            offer.push(t.elapsed().as_secs_f64());

            let t = Instant::now();
            let (code, tx) = exchange(&ncp, true).await.expect("offer");
            let w = Instant::now();
            issue(&ncp, &http, &code, &tx).await;
            wallet_part.push(w.elapsed().as_secs_f64());
            full.push(t.elapsed().as_secs_f64());
        }
        let base = median(&mut plain);
        println!("{iters} of each, interleaved; medians\n");
        println!("| what | median | × exchange |");
        println!("| --- | ---: | ---: |");
        println!("| exchange (baseline) | {:.1} ms | 1.00 |", base * 1e3);
        for (name, v) in [
            ("exchange with the wallet offer", &mut offer),
            ("exchange + the wallet's issuance", &mut full),
            ("the wallet's issuance alone", &mut wallet_part),
        ] {
            let m = median(v);
            println!("| {name} | {:.1} ms | {:.2} |", m * 1e3, m / base);
        }
    });
}
