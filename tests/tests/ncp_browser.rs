//! The NCP's provider flow in a real browser (Debian Chromium via playwright-core), with a real
//! OpenID provider (npm `oidc-provider`) and a real Signer, against a small test receiver standing
//! in for the SMP. The receiver gets the browser's POST; the test then checks what an SMP would:
//! the `elmo` decodes, xmlsec1 verifies it against the NCP's certificate, xmllint validates it
//! against the ELMO v1.7 XSD, and it holds exactly the two courses ticked in the browser.
//! Also: cancel → NCP_CANCEL, a student without results → NCP_NO_RESULTS, Signer down →
//! NCP_ERROR, and no Content-Security-Policy violation anywhere.

#[path = "../../services/ncp/tests/support/mod.rs"]
mod support;

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::response::Html;
use emrex_ncp::oidc::OidcConfig;
use emrex_tests::browser::Browser;
use emrex_tests::oidc::{OpAccount, OpClient, OpConfig, OpenIdProvider};
use serde_json::json;
use support::TestNcp;

type Received = Arc<Mutex<Vec<HashMap<String, String>>>>;

/// The stand-in SMP: `/start?session=…&ncp=…` shows a form that POSTs to the NCP (button
/// `#go`), `/return` records the NCP's POST and shows the return code.
async fn receiver() -> (SocketAddr, Received) {
    let received: Received = Arc::default();
    let app = axum::Router::new()
        .route(
            "/start",
            axum::routing::get(
                |State(_): State<Received>, axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>| async move {
                    let ncp = &q["ncp"];
                    let session = &q["session"];
                    let ret = &q["ret"];
                    Html(format!(
                        r#"<!doctype html><html lang="en"><title>Test SMP</title><form method="post" action="{ncp}/">
<input type="hidden" name="sessionId" value="{session}"><input type="hidden" name="returnUrl" value="{ret}">
<button id="go" type="submit">Fetch my results</button></form></html>"#
                    ))
                },
            ),
        )
        .route(
            "/return",
            axum::routing::post(
                |State(r): State<Received>, axum::Form(form): axum::Form<HashMap<String, String>>| async move {
                    let code = form.get("returnCode").cloned().unwrap_or_default();
                    r.lock().expect("lock").push(form);
                    Html(format!(
                        r#"<!doctype html><html lang="en"><title>Received</title><p id="code">received {code}</p></html>"#
                    ))
                },
            ),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, received)
}

fn start_url(smp: SocketAddr, ncp: &TestNcp, session: &str) -> String {
    let ret = format!("http://{smp}/return");
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("ncp", &ncp.base)
        .append_pair("session", session)
        .append_pair("ret", &ret)
        .finish();
    format!("http://{smp}/start?{q}")
}

async fn browse(steps: serde_json::Value, out: &str) -> emrex_tests::browser::StepsOutcome {
    let dir = emrex_tests::output_dir(out);
    tokio::task::spawn_blocking(move || Browser::run(&steps, &dir))
        .await
        .expect("browser task")
}

fn last(received: &Received) -> HashMap<String, String> {
    received
        .lock()
        .expect("lock")
        .last()
        .cloned()
        .expect("the receiver got a POST")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_student_logs_in_with_openid_connect_picks_two_courses_and_the_smp_gets_them_signed() {
    emrex_tests::browser::ensure_node_modules();
    let (smp, received) = receiver().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let ncp_addr = listener.local_addr().expect("addr");
    let op = OpenIdProvider::start(&OpConfig {
        clients: vec![OpClient {
            client_id: "emrex-ncp".into(),
            client_secret: "test-only-secret".into(),
            redirect_uris: vec![format!("http://{ncp_addr}/login/callback")],
        }],
        accounts: vec![OpAccount {
            sub: "demo-asa".into(),
            login: "asa".into(),
            claims:
                json!({"given_name": "Åsa", "family_name": "Ødegård", "birthdate": "1999-04-12"})
                    .as_object()
                    .expect("object")
                    .clone(),
        }],
        ..Default::default()
    });
    let secret_dir = tempfile::tempdir().expect("tmp");
    let secret = secret_dir.path().join("client-secret");
    std::fs::write(&secret, "test-only-secret\n").expect("secret");
    let issuer = op.issuer.clone();
    let ncp = TestNcp::start_on(listener, move |c| {
        c.login.oidc = Some(OidcConfig {
            issuer,
            client_id: "emrex-ncp".into(),
            client_secret_file: Some(secret),
            scopes: vec!["profile".into()],
            claims: Default::default(),
            ca_file: None,
            allow_http: true,
        });
    })
    .await;

    let outcome = browse(
        json!([
            {"goto": start_url(smp, &ncp, "b7c3f0f2-52a4-4f5e-9a51-0d9f3f0c2a11")},
            {"click": "#go"},
            {"waitForUrl": "/x/"},
            {"expectText": "Development mode"},
            {"screenshot": "1-login.png"},
            {"click": "#oidc-login"},
            {"waitFor": "input[name=login]"},
            {"fill": "input[name=login]", "value": "asa"},
            {"fill": "input[name=password]", "value": "any"},
            {"click": "button[type=submit]"},
            {"waitForUrl": format!("{}/x/", ncp.base)},
            {"expectText": "Åsa Ødegård"},
            {"expectText": &format!("{smp}")},
            {"check": "#c-r0-1"},
            {"check": "#c-r1-0"},
            {"check": "#consent"},
            {"screenshot": "2-select.png"},
            {"click": "#send"},
            {"waitForUrl": format!("http://{smp}/return")},
            {"expectText": "received NCP_OK"},
            {"screenshot": "3-received.png"},
        ]),
        "ncp_browser_oidc",
    )
    .await;
    outcome.assert_ok().assert_no_csp_violations();

    let form = last(&received);
    assert_eq!(form["sessionId"], "b7c3f0f2-52a4-4f5e-9a51-0d9f3f0c2a11");
    assert_eq!(form["returnCode"], "NCP_OK");
    let signed = emrex_elmo::transport::decode(&form["elmo"], &emrex_elmo::Budget::default())
        .expect("elmo decodes");
    emrex_tests::xmlsec1_verify(&signed, &ncp.cert_path)
        .expect("xmlsec1 verifies against the NCP certificate");
    emrex_tests::xmllint_validate_elmo_v17(&signed).expect("valid against the ELMO v1.7 XSD");
    let elmo = emrex_elmo::parse(&signed, &Default::default()).expect("parse");
    let courses: BTreeSet<String> = elmo
        .reports
        .iter()
        .flat_map(|r| r.all_learning_opportunities())
        .map(|l| l.titles[0].text.clone())
        .collect();
    assert_eq!(
        courses,
        BTreeSet::from([
            "Kalkulus".to_string(),
            "Programmeringsteknik för matematiker".to_string()
        ]),
        "exactly the two ticked courses"
    );
    assert_eq!(elmo.learner.given_names, "Åsa");
    assert_eq!(elmo.learner.bday.as_deref(), Some("1999-04-12"));
    std::fs::write(
        emrex_tests::output_dir("ncp_browser_oidc").join("received.xml"),
        &signed,
    )
    .expect("write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_no_results_and_signer_down_reach_the_smp_with_their_codes() {
    emrex_tests::browser::ensure_node_modules();
    let (smp, received) = receiver().await;
    let ncp = TestNcp::start(|_| {}).await;
    let down = TestNcp::start(|c| c.signer.client.endpoint = "http://127.0.0.1:9".into()).await;

    let cases = [
        (
            "cancel",
            &ncp,
            vec![json!({"click": "#cancel"})],
            "NCP_CANCEL",
        ),
        (
            "noresults",
            &ncp,
            vec![json!({"click": "#dev-demo-empty"})],
            "NCP_NO_RESULTS",
        ),
        (
            "signerdown",
            &down,
            vec![
                json!({"click": "#dev-demo-jean"}),
                json!({"check": "#c-r0-0"}),
                json!({"check": "#consent"}),
                json!({"click": "#send"}),
            ],
            "NCP_ERROR",
        ),
    ];
    for (name, target, actions, code) in cases {
        let mut steps = vec![
            json!({"goto": start_url(smp, target, name)}),
            json!({"click": "#go"}),
            json!({"waitForUrl": "/x/"}),
        ];
        steps.extend(actions);
        steps.push(json!({"waitForUrl": format!("http://{smp}/return")}));
        steps.push(json!({"expectText": format!("received {code}")}));
        let outcome = browse(json!(steps), &format!("ncp_browser_{name}")).await;
        outcome.assert_ok().assert_no_csp_violations();
        let form = last(&received);
        assert_eq!(form["sessionId"], name);
        assert_eq!(form["returnCode"], code, "{name}");
        assert_eq!(
            form.get("elmo").map(String::as_str).unwrap_or(""),
            "",
            "{name}"
        );
    }
}

/// The wallet offer after consent, in a real browser, in each language: the consent page with
/// the wallet option and the offer page (QR code, same-device link, transaction code, lifetime,
/// the button to the client) are audited at desktop and phone width (axe-core, no sideways
/// scroll); no script runs on the offer page, and its button still takes the student to the
/// client with the results.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_consent_the_wallet_offer_page_shows_the_qr_code_and_the_way_on_in_every_language() {
    emrex_tests::browser::ensure_node_modules();
    let (smp, received) = receiver().await;
    let ncp = TestNcp::start(|c| c.wallet.enabled = true).await;
    for (lang, locale, title) in [
        ("en", "en-GB", "Keep your results in your wallet"),
        ("de", "de-DE", "Ergebnisse in Ihrer Wallet speichern"),
        (
            "fr",
            "fr-FR",
            "Garder vos résultats dans votre portefeuille",
        ),
    ] {
        let steps = json!([
            {"goto": start_url(smp, &ncp, &format!("wallet-{lang}"))},
            {"click": "#go"},
            {"waitForUrl": "/x/"},
            {"click": "#dev-demo-asa"},
            {"waitFor": "#wallet"},
            {"check": "#c-r0-1"},
            {"check": "#c-r1-0"},
            {"check": "#consent"},
            {"check": "#wallet"},
            {"audit": format!("{lang}-ncp-select-wallet")},
            {"click": "#send"},
            {"waitFor": "#tx-code"},
            {"expectText": title},
            {"audit": format!("{lang}-ncp-wallet-offer")},
            {"text": "#tx-code"},
            {"evaluate": "document.getElementById('same-device').getAttribute('href')"},
            {"evaluate": "document.querySelectorAll('script').length"},
            {"click": "#return"},
            {"waitForUrl": format!("http://{smp}/return")},
            {"expectText": "received NCP_OK"},
        ]);
        let dir = emrex_tests::output_dir(&format!("ncp_browser_wallet_{lang}"));
        let outcome = tokio::task::spawn_blocking(move || {
            emrex_tests::browser::Browser::run_in_locale(&steps, &dir, locale)
        })
        .await
        .expect("browser task");
        outcome.assert_ok().assert_no_csp_violations();
        let tx = outcome.str_value(14).trim().to_string();
        assert_eq!(tx.len(), 6, "{tx:?}");
        assert!(tx.bytes().all(|b| b.is_ascii_digit()), "{tx:?}");
        assert!(
            outcome
                .str_value(15)
                .starts_with("openid-credential-offer://?credential_offer=")
        );
        assert_eq!(outcome.value(16), &json!(0), "no script on the offer page");
        let form = last(&received);
        assert_eq!(form["sessionId"], format!("wallet-{lang}"));
        assert_eq!(form["returnCode"], "NCP_OK");
    }
}
