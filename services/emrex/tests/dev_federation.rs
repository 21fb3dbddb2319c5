//! The whole federation started exactly like README's first command (`emrex dev`, as a process),
//! driven by headless Debian Chromium: open the SMP page, choose the country and the NCP, log in
//! at the NCP (once with the dev login, once through a real OpenID provider), tick courses,
//! consent, return — the SMP page shows them verified, and the SIS gRPC API returns the same
//! exchange with the signed XML and the PDF. Screenshots land in tests/output/.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use emrex_proto::smp::v1::OutcomeKind;
use emrex_tests::browser::Browser;
use emrex_tests::oidc::OpenIdProvider;
use serde_json::{Value, json};

mod dev_support;
use dev_support::{
    assert_sis_api_refuses_without_token, assert_verified_demo_exchange, flow, newest_exchange,
};

struct Dev {
    child: Child,
    ready: Value,
    /// Every line `emrex dev` printed on standard output so far (its logs go there too).
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn start_dev(data: &std::path::Path, ncp_port: u16, oidc: Option<(&str, &std::path::Path)>) -> Dev {
    start_dev_with(data, ncp_port, oidc, &[])
}

fn dev_command(data: &std::path::Path, ncp_port: u16) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_emrex"));
    cmd.arg("dev")
        .arg("--data-dir")
        .arg(data)
        .args([
            "--smp-port",
            "0",
            "--emreg-port",
            "0",
            "--smp-grpc-port",
            "0",
        ])
        .args(["--ncp-port", &ncp_port.to_string()])
        .args(["--admin-port", "0"]);
    cmd
}

fn start_dev_with(
    data: &std::path::Path,
    ncp_port: u16,
    oidc: Option<(&str, &std::path::Path)>,
    extra: &[&str],
) -> Dev {
    let mut cmd = dev_command(data, ncp_port);
    cmd.args(extra);
    if let Some((issuer, secret)) = oidc {
        cmd.args(["--oidc-issuer", issuer, "--oidc-client-id", "emrex-dev-ncp"])
            .arg("--oidc-client-secret-file")
            .arg(secret);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn emrex dev");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(json) = line.strip_prefix("emrex-dev-ready ") {
                let _ = tx.send(json.to_string());
            }
            seen.lock().expect("lines").push(line);
        }
    });
    let json = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("emrex dev printed its ready line");
    Dev {
        child,
        ready: serde_json::from_str(&json).expect("ready json"),
        lines,
    }
}

/// The newest exchange, through the SIS API with the token `emrex dev` wrote.
async fn newest(dev: &Dev) -> emrex_proto::smp::v1::Exchange {
    let token_file = dev.ready["grpc_token_file"].as_str().expect("token file");
    let token = std::fs::read_to_string(token_file).expect("token");
    newest_exchange(dev.ready["smp_grpc"].as_str().expect("grpc"), &token).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_federation_works_end_to_end_in_a_browser_with_dev_and_openid_logins() {
    emrex_tests::browser::ensure_node_modules();
    let ncp_port = free_port();
    let op = OpenIdProvider::start(&dev_support::op_config(ncp_port));
    let dir = tempfile::tempdir().expect("tmp");
    let secret = dir.path().join("oidc-secret");
    std::fs::write(&secret, "test-only-secret").expect("secret");
    let dev = start_dev(
        &dir.path().join("data"),
        ncp_port,
        Some((&op.issuer, &secret)),
    );
    let smp = dev.ready["smp"].as_str().expect("smp url").to_string();

    // 1. Dev login.
    let s = smp.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        flow(&s, dev_support::dev_login(), "dev_federation_devlogin")
    })
    .await
    .expect("browser");
    outcome.assert_ok().assert_no_csp_violations();
    let ex = newest(&dev).await;
    // Without the development token the SIS API refuses (even on loopback).
    assert_sis_api_refuses_without_token(dev.ready["smp_grpc"].as_str().expect("grpc")).await;
    assert_verified_demo_exchange(&ex);

    // 2. OpenID Connect login at the NCP through the real provider.
    let s = smp.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        flow(&s, dev_support::oidc_login(), "dev_federation_oidc")
    })
    .await
    .expect("browser");
    outcome.assert_ok().assert_no_csp_violations();
    let ex2 = newest(&dev).await;
    assert_ne!(ex2.session_id, ex.session_id);
    assert_eq!(ex2.outcome, OutcomeKind::Verified as i32, "{}", ex2.detail);

    // 3. The NCP issues wallet credentials, and EMREG lists it as a credential issuer with the
    // same key the NCP publishes for its credentials (a wallet verifier that trusts EMREG can
    // match a credential's `kid` and issuer there).
    let emreg = dev.ready["emreg_json"]
        .as_str()
        .expect("emreg url")
        .replace("/ncp-list.json", "/wallet-issuers.json");
    let listed: Value = reqwest::get(&emreg)
        .await
        .expect("wallet issuers")
        .bytes()
        .await
        .map(|b| serde_json::from_slice::<Value>(&b).expect("JSON"))
        .expect("body");
    let ncp = dev.ready["ncp"]
        .as_str()
        .expect("ncp url")
        .trim_end_matches('/');
    let issuer_meta: Value = reqwest::get(format!("{ncp}/.well-known/openid-credential-issuer"))
        .await
        .expect("issuer metadata")
        .bytes()
        .await
        .map(|b| serde_json::from_slice::<Value>(&b).expect("JSON"))
        .expect("body");
    let vc_issuer: Value = reqwest::get(format!("{ncp}/.well-known/jwt-vc-issuer"))
        .await
        .expect("jwt-vc-issuer")
        .bytes()
        .await
        .map(|b| serde_json::from_slice::<Value>(&b).expect("JSON"))
        .expect("body");
    let entry = &listed["issuers"][0];
    assert_eq!(
        entry["credentialIssuer"], issuer_meta["credential_issuer"],
        "{listed} vs {issuer_meta}"
    );
    assert_eq!(entry["credentialIssuer"], vc_issuer["issuer"]);
    let kids = |keys: &Value| -> Vec<String> {
        keys.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|k| k["kid"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let ncp_kids = kids(&vc_issuer["jwks"]["keys"]);
    assert!(!ncp_kids.is_empty(), "{vc_issuer}");
    assert_eq!(
        kids(&entry["jwks"]["keys"]),
        ncp_kids,
        "{listed} vs {vc_issuer}"
    );

    // Ctrl-C / SIGTERM stops everything cleanly.
    let mut dev = dev;
    let _ = Command::new("kill")
        .args(["-TERM", &dev.child.id().to_string()])
        .status();
    let status = dev.child.wait().expect("wait");
    assert!(status.success(), "emrex dev exit status {status}");
}

/// The steps that audit the page now (`name`: desktop and 390 px screenshots, no sideways
/// scrolling, no axe-core violation; see tests/browser/README.md).
fn audit(name: &str) -> Value {
    json!({"audit": name})
}

/// Every page a student meets, in one language chosen the way a browser chooses (its
/// `Accept-Language`), each audited at desktop and phone width with axe-core: the SMP's country
/// list, its NCP list, the NCP's login, selection and "choose at least one" pages, the verified
/// result, a cancelled result, and the refusals (unknown transfer at the NCP, unknown result and
/// unknown country at the SMP).
fn every_page(
    smp: &str,
    ncp: &str,
    lang: &str,
    locale: &str,
) -> Vec<emrex_tests::browser::StepsOutcome> {
    let out = |part: &str| emrex_tests::output_dir(&format!("dev_federation_pages_{lang}_{part}"));
    let to_ncp = [
        json!({"goto": smp}),
        audit(&format!("{lang}-smp-countries")),
        json!({"click": "#country-NO"}),
        audit(&format!("{lang}-smp-country")),
        json!({"click": "#ncp-DEV-NCP"}),
        json!({"waitForUrl": "/x/"}),
        audit(&format!("{lang}-ncp-login")),
        json!({"click": "#dev-demo-asa"}),
        json!({"waitFor": "#consent"}),
    ];
    // The language the switch offers next (each journey tries another).
    let other = match lang {
        "en" => "de",
        "de" => "fr",
        _ => "en",
    };
    let mut flow = to_ncp.to_vec();
    flow.extend([
        // Kept for the NCP's origin, to come back to this transfer once it is finished.
        json!({"evaluate": "sessionStorage.setItem('transfer', location.pathname)"}),
        audit(&format!("{lang}-ncp-select")),
        json!({"check": "#consent"}),
        json!({"click": "#send"}),
        json!({"waitFor": "#form-error"}),
        audit(&format!("{lang}-ncp-select-error")),
        json!({"check": "#c-r0-0"}),
        json!({"check": "#c-r1-1"}),
        json!({"click": "#send"}),
        json!({"waitForUrl": format!("{smp}result/")}),
        json!({"waitFor": "#courses"}),
        audit(&format!("{lang}-smp-result")),
        json!({"evaluate": "sessionStorage.setItem('result', location.href)"}),
        // The finished transfer at the NCP.
        json!({"goto": format!("{ncp}/x/no-such-transfer")}),
        json!({"evaluate": "location.assign(sessionStorage.getItem('transfer'))"}),
        json!({"waitForUrl": "/\\/x\\/(?!no-such-transfer)[A-Za-z0-9_-]+$/"}),
        json!({"waitFor": "#main"}),
        audit(&format!("{lang}-ncp-finished")),
        // Back at the result, the switch keeps it (its link and token) and changes the language
        // (last: the language cookie is shared by every port of 127.0.0.1).
        json!({"goto": smp}),
        json!({"evaluate": "location.assign(sessionStorage.getItem('result'))"}),
        json!({"waitForUrl": "/result/"}),
        json!({"waitFor": "#courses"}),
        json!({"click": format!("#lang-{other}")}),
        json!({"waitFor": "#courses"}),
        json!({"evaluate": "[document.documentElement.lang, location.pathname + location.search]"}),
    ]);
    let mut cancel = to_ncp.to_vec();
    cancel.extend([
        json!({"click": "#cancel"}),
        json!({"waitForUrl": format!("{smp}result/")}),
        audit(&format!("{lang}-smp-cancelled")),
        json!({"goto": format!("{ncp}/x/no-such-transfer")}),
        audit(&format!("{lang}-ncp-unknown")),
        json!({"goto": format!("{smp}result/no-such-result")}),
        audit(&format!("{lang}-smp-unknown-result")),
        json!({"goto": format!("{smp}country/ZZ")}),
        audit(&format!("{lang}-smp-unknown-country")),
    ]);
    // Without page scripts the hand-over pages stay on screen with their buttons, so they are
    // audited too; and the start form with a mistake comes back, filled in.
    let no_script = vec![
        json!({"goto": smp}),
        json!({"click": "#country-NO"}),
        json!({"evaluate": "(() => { const d = document.getElementById('birth_date'); d.type = 'text'; d.value = '1999-02-31'; })()"}),
        json!({"click": "#ncp-DEV-NCP"}),
        json!({"waitFor": "#birth_date"}),
        audit(&format!("{lang}-smp-start-error")),
        json!({"fill": "#birth_date", "value": "1999-04-12"}),
        json!({"click": "#ncp-DEV-NCP"}),
        json!({"waitFor": "#go"}),
        audit(&format!("{lang}-smp-go")),
        json!({"click": "#go"}),
        json!({"waitForUrl": "/x/"}),
        json!({"click": "#dev-demo-asa"}),
        json!({"waitFor": "#consent"}),
        json!({"check": "#c-r0-0"}),
        json!({"check": "#consent"}),
        json!({"click": "#send"}),
        json!({"waitFor": "#return"}),
        audit(&format!("{lang}-ncp-return")),
        json!({"click": "#return"}),
        json!({"waitForUrl": format!("{smp}result/")}),
        json!({"waitFor": "#courses"}),
    ];
    vec![
        Browser::run_in_locale(&json!(flow), &out("flow"), locale),
        Browser::run_in_locale(&json!(cancel), &out("cancel"), locale),
        Browser::run_without_page_scripts(&json!(no_script), &out("noscript"), locale),
    ]
}

/// Issue #18, as a student does it in `emrex dev`: after consenting with "also keep these results
/// in my wallet", the offer page shows the code; the results still reach the SMP, verified; and
/// a wallet (npm `@openid4vc/openid4vci`, given only the offer link and the code) takes a
/// credential that npm `@sd-jwt/sd-jwt-vc` verifies against the NCP's published key and whose
/// ELM results are exactly those of the ELMO the SMP received.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_student_also_takes_the_results_into_a_wallet() {
    emrex_tests::browser::ensure_node_modules();
    let dir = tempfile::tempdir().expect("tmp");
    let dev = start_dev(&dir.path().join("data"), free_port(), None);
    let smp = dev.ready["smp"].as_str().expect("smp url").to_string();
    let steps = json!([
        {"goto": smp},
        {"click": "#country-NO"},
        {"click": "#ncp-DEV-NCP"},
        {"waitForUrl": "/x/"},
        {"click": "#dev-demo-asa"},
        {"waitFor": "#consent"},
        {"check": "#c-r0-0"},
        {"check": "#c-r1-1"},
        {"check": "#consent"},
        {"check": "#wallet"},
        {"click": "#send"},
        {"waitFor": "#tx-code"},
        {"screenshot": "offer.png"},
        {"text": "#tx-code"},
        {"evaluate": "document.getElementById('same-device').getAttribute('href')"},
        {"click": "#return"},
        {"waitForUrl": format!("{smp}result/")},
        {"expectText": "Your results have arrived"},
    ]);
    let out = emrex_tests::output_dir("dev_federation_wallet");
    let outcome = tokio::task::spawn_blocking(move || Browser::run(&steps, &out))
        .await
        .expect("browser");
    outcome.assert_ok().assert_no_csp_violations();
    let tx_code = outcome.str_value(13).trim().to_string();
    let offer_uri = outcome.str_value(14).to_string();
    let ex = newest(&dev).await;
    assert_verified_demo_exchange(&ex);

    // The wallet takes the offer.
    let request = json!({"offerUri": offer_uri, "txCode": tx_code});
    let got = tokio::task::spawn_blocking(move || emrex_tests::sdjwt::wallet(&request))
        .await
        .expect("wallet task");
    assert_eq!(got["ok"], true, "{got}");
    let credential = got["credential"].as_str().expect("credential");

    // Verified independently against the key the NCP publishes.
    let ncp = dev.ready["ncp"]
        .as_str()
        .expect("ncp url")
        .trim_end_matches('/');
    let vc_issuer: Value = serde_json::from_slice(
        &reqwest::get(format!("{ncp}/.well-known/jwt-vc-issuer"))
            .await
            .expect("jwt-vc-issuer")
            .bytes()
            .await
            .expect("body"),
    )
    .expect("JSON");
    let keys = vc_issuer["jwks"]["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1, "one key in emrex dev: {vc_issuer}");
    let verdict = emrex_tests::sdjwt::oracle(&json!({
        "mode": "verify", "credential": credential, "issuerJwk": keys[0],
    }));
    assert_eq!(verdict["ok"], true, "{verdict}");
    assert_eq!(verdict["payload"]["vct"], "urn:eudi:elm:1");
    assert_eq!(verdict["payload"]["iss"], vc_issuer["issuer"]);

    // Its ELM results are the ELMO's the SMP received: titles, grades, credits.
    let elmo = emrex_elmo::parse(&ex.signed_xml, &emrex_elmo::Limits::default()).expect("ELMO");
    let in_elmo = emrex_tests::sdjwt::elmo_results(&elmo);
    let mut in_wallet = std::collections::BTreeSet::new();
    emrex_tests::sdjwt::elm_results(
        &verdict["payload"]["elm"]["credentialSubject"]["hasClaim"],
        &mut in_wallet,
    );
    assert_eq!(in_elmo.len(), 2, "{in_elmo:?}");
    assert_eq!(in_wallet, in_elmo, "{verdict}");
}

/// Issue #16 items 1, 8 and 9: every page in English, German and French, at 1280 and 390 px, has
/// no horizontal overflow and no axe-core violation, and is in the browser's language.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_in_every_language_fits_a_phone_and_passes_axe_core() {
    emrex_tests::browser::ensure_node_modules();
    let ncp_port = free_port();
    let dir = tempfile::tempdir().expect("tmp");
    let dev = start_dev(&dir.path().join("data"), ncp_port, None);
    let smp = dev.ready["smp"].as_str().expect("smp url").to_string();
    let ncp = format!("http://127.0.0.1:{ncp_port}");
    for (lang, locale) in [("en", "en-GB"), ("de", "de-DE"), ("fr", "fr-FR")] {
        let (s, n) = (smp.clone(), ncp.clone());
        let runs = tokio::task::spawn_blocking(move || every_page(&s, &n, lang, locale))
            .await
            .expect("browser");
        // After the switch: the other language, on the same result address.
        let switched = runs[0]
            .results
            .iter()
            .rev()
            .find(|r| r["kind"] == "evaluate")
            .expect("the switch was read")["value"]
            .clone();
        let audited_result = runs[0]
            .results
            .iter()
            .find(|r| {
                r["kind"] == "audit"
                    && r["value"]["url"]
                        .as_str()
                        .is_some_and(|u| u.contains("/result/"))
            })
            .expect("the result was audited")["value"]["url"]
            .as_str()
            .expect("url")
            .to_string();
        let other = match lang {
            "en" => "de",
            "de" => "fr",
            _ => "en",
        };
        assert_eq!(switched[0], other, "{switched}");
        let address = switched[1].as_str().expect("address");
        // The same exchange's result (the link's token may be a fresh one for the same session).
        let session = audited_result
            .split_once("/result/")
            .and_then(|(_, rest)| rest.split_once('?'))
            .expect("result address")
            .0;
        assert!(
            address.starts_with(&format!("/result/{session}?t="))
                && address.ends_with(&format!("&lang={other}")),
            "{address} keeps the result {session}"
        );
        let mut audits = 0;
        for run in &runs {
            run.assert_ok().assert_no_csp_violations();
            for step in &run.results {
                if step["kind"] == "audit" {
                    audits += 1;
                    assert_eq!(step["value"]["lang"], lang, "{step}");
                    let widths: Vec<&Value> = step["value"]["widths"]
                        .as_array()
                        .expect("widths")
                        .iter()
                        .collect();
                    assert_eq!(widths.len(), 2, "{step}");
                    assert_eq!(widths[1]["width"], 390, "{step}");
                    assert!(widths[1]["scrollWidth"].as_u64().expect("scrollWidth") <= 390);
                }
            }
        }
        assert_eq!(audits, 17, "every page of the {lang} journey was audited");
    }
}

/// Issue #16 items 13–15: a second `emrex dev` on the same data directory stops at once and names
/// the first; logs written into a pipe carry no colour codes (and `--log-format json` gives JSON
/// lines); the development key and token are owner-only.
#[test]
fn one_dev_per_data_directory_plain_logs_in_a_pipe_and_private_keys() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let first = start_dev(&data, 0, None);
    let pid = first.child.id();

    let second = dev_command(&data, 0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run a second emrex dev");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("in use by another `emrex dev`"), "{stderr}");
    assert!(stderr.contains(&format!("pid {pid}")), "{stderr}");
    assert!(stderr.contains("--data-dir"), "{stderr}");

    for name in [
        "DEV-ONLY-signer.key",
        "DEV-ONLY-grpc-token",
        "emrex-dev.lock",
    ] {
        let mode = std::fs::metadata(data.join(name))
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }

    let lines = first.lines.lock().expect("lines").clone();
    assert!(
        lines.iter().any(|l| l.contains("INFO")),
        "some log lines: {lines:#?}"
    );
    assert!(
        lines.iter().all(|l| !l.contains('\u{1b}')),
        "no colour codes in a pipe: {lines:#?}"
    );
    drop(first);

    // The lock went with the process: the directory is free again, here with JSON logs.
    let json_dev = start_dev_with(&data, 0, None, &["--log-format", "json"]);
    let logs: Vec<Value> = json_dev
        .lines
        .lock()
        .expect("lines")
        .iter()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("a JSON log line"))
        .collect();
    assert!(
        logs.iter().any(|l| l["level"] == "INFO"),
        "JSON log lines: {logs:#?}"
    );
}
