//! The provider flow over real HTTP against an in-process NCP and a real Signer: every return
//! code, the signed response checked by our verifier, xmlsec1, xmllint, qpdf and poppler, and
//! hostile input refused without changing state. (The same flow in a real browser, with a real
//! OpenID provider, is in tests/tests/ncp_browser.rs.)

mod support;

use std::collections::BTreeSet;

use emrex_elmo::Budget;
use support::{Agent, Page, TestNcp, input, input_values, return_fields};

const RETURN: &str = "http://127.0.0.1:9/emrex/return";

/// POST the entry form and follow to the exchange page; returns (exchange URL, login page).
async fn enter(
    ncp: &TestNcp,
    agent: &mut Agent,
    session: &str,
    extra: &[(&str, &str)],
) -> (String, Page) {
    let mut fields = vec![("sessionId", session), ("returnUrl", RETURN)];
    fields.extend_from_slice(extra);
    let r = agent.post(&format!("{}/", ncp.base), &fields).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let url = format!("{}{}", ncp.base, r.location.expect("location"));
    let page = agent.get(&url).await;
    assert_eq!(page.status, 200, "{}", page.body);
    (url, page)
}

/// Logs in as a demo student; returns the page after the login redirect (or the answer).
async fn dev_login(agent: &mut Agent, url: &str, login_page: &Page, student: &str) -> Page {
    let csrf = input(&login_page.body, "csrf");
    let r = agent
        .post(
            &format!("{url}/login/dev"),
            &[("csrf", &csrf), ("student", student)],
        )
        .await;
    if r.status == 303 {
        agent.get(url).await
    } else {
        r
    }
}

fn decode_signed(elmo: &str) -> Vec<u8> {
    emrex_elmo::transport::decode(elmo, &Budget::default()).expect("decode")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_response_holds_exactly_the_selected_courses_signed_and_valid() {
    let ncp = TestNcp::start(|_| {}).await;
    let mut agent = Agent::new();
    let (url, login) = enter(
        &ncp,
        &mut agent,
        "0f8fad5b-d9cb-469f-a165-70867728950e",
        &[],
    )
    .await;
    assert!(login.body.contains("Development mode"), "dev banner");
    let csp = login.csp.clone().expect("csp");
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let select = dev_login(&mut agent, &url, &login, "demo-asa").await;
    assert_eq!(select.status, 200, "{}", select.body);
    assert!(
        select.body.contains("127.0.0.1:9"),
        "the page shows where results go"
    );
    let offered = input_values(&select.body, "course");
    // Passed only by default: 3 at Oslo + 2 at Stockholm (the failed and in-progress are hidden).
    assert_eq!(offered.len(), 5, "{offered:?}");
    assert!(!select.body.contains("Mekanikk") && !select.body.contains("Mechanics"));
    let csrf = input(&select.body, "csrf");
    let chosen = [offered[0].as_str(), offered[3].as_str()];
    let answer = agent
        .post(
            &format!("{url}/send"),
            &[
                ("csrf", &csrf),
                ("course", chosen[0]),
                ("course", chosen[1]),
                ("consent", "yes"),
            ],
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let csp = answer.csp.clone().expect("csp");
    assert!(csp.contains("form-action http://127.0.0.1:9"), "{csp}");
    assert!(csp.contains("script-src 'sha256-"), "{csp}");
    assert!(
        answer
            .body
            .contains(r#"action="http://127.0.0.1:9/emrex/return""#)
    );
    let fields = return_fields(&answer.body);
    assert_eq!(fields["sessionId"], "0f8fad5b-d9cb-469f-a165-70867728950e");
    assert_eq!(fields["returnCode"], "NCP_OK");
    assert!(fields["elmo"].starts_with("H4sI"), "gzip+base64");

    let signed = decode_signed(&fields["elmo"]);
    let verified = emrex_xmldsig::verify(
        &signed,
        std::slice::from_ref(&ncp.cert),
        &Default::default(),
    )
    .expect("our verifier accepts it");
    let elmo = emrex_elmo::from_verified(&verified).expect("elmo");
    let titles: BTreeSet<String> = elmo
        .reports
        .iter()
        .flat_map(|r| r.all_learning_opportunities())
        .map(|l| l.titles[0].text.clone())
        .collect();
    assert_eq!(
        titles,
        [
            "Grunnkurs i objektorientert programmering",
            "Programmeringsteknik för matematiker"
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    );
    assert_eq!(elmo.reports.len(), 2);
    assert_eq!(elmo.learner.family_name, "Ødegård");

    // Independent oracles: xmlsec1 verifies against the NCP's certificate, xmllint validates.
    emrex_tests::xmlsec1_verify(&signed, &ncp.cert_path).expect("xmlsec1 verifies");
    emrex_tests::xmllint_validate_elmo_v17(&signed).expect("XSD-valid v1.7");

    // The transcript PDF: attached as `EMREX transcript`, checked by qpdf and poppler, and the
    // XML it embeds is the signed document without the PDF and the signature.
    let pdf_att = elmo
        .attachments
        .iter()
        .find(|a| a.attachment_type.as_deref() == Some("EMREX transcript"))
        .expect("EMREX transcript attachment");
    let data = emrex_elmo::DataUri::parse(&pdf_att.contents[0].data, 32 << 20).expect("data uri");
    assert_eq!(data.media_type, "application/pdf");
    let out = emrex_tests::output_dir("ncp_flow_ok");
    let pdf_path = out.join("transcript.pdf");
    std::fs::write(&pdf_path, &data.bytes).expect("write pdf");
    std::fs::write(out.join("signed.xml"), &signed).expect("write xml");
    run_ok(
        std::process::Command::new(emrex_tests::require_tool("qpdf"))
            .arg("--check")
            .arg(&pdf_path),
    );
    let text = run_ok(
        std::process::Command::new(emrex_tests::require_tool("pdftotext"))
            .arg(&pdf_path)
            .arg("-"),
    );
    for needle in [
        "Åsa",
        "Ødegård",
        "Introduction to Object-oriented Programming",
        "Programming Techniques for Mathematicians",
    ] {
        assert!(text.contains(needle), "pdftotext lacks {needle:?}:\n{text}");
    }
    assert!(
        !text.contains("Calculus"),
        "an unselected course is in the PDF"
    );
    let detach = out.join("detached");
    let _ = std::fs::remove_dir_all(&detach);
    std::fs::create_dir_all(&detach).expect("dir");
    run_ok(
        std::process::Command::new(emrex_tests::require_tool("pdfdetach"))
            .arg("-saveall")
            .arg("-o")
            .arg(&detach)
            .arg(&pdf_path),
    );
    let embedded = std::fs::read(detach.join("elmo.xml")).expect("embedded elmo.xml");
    let mut without = elmo.clone();
    without
        .attachments
        .retain(|a| a.attachment_type.as_deref() != Some("EMREX transcript"));
    without.has_signature = false;
    assert_eq!(
        String::from_utf8_lossy(&embedded),
        emrex_elmo::to_xml_v17(&without),
        "the PDF embeds the signed document's content"
    );

    // Replaying the finished exchange is refused and sends nothing.
    let replay = agent
        .post(
            &format!("{url}/send"),
            &[("csrf", &csrf), ("course", chosen[0]), ("consent", "yes")],
        )
        .await;
    assert!(matches!(replay.status, 403 | 409), "{}", replay.status);
    assert!(!replay.body.contains("emrex-return"));
    let metrics = ncp.metrics_text();
    assert!(
        metrics.contains("emrex_ncp_exchanges_finished_total{outcome=\"NCP_OK\"} 1"),
        "{metrics}"
    );
    for step in ["login", "source", "elmo", "pdf", "sign", "encode"] {
        assert!(
            metrics.contains(&format!("step=\"{step}\"")),
            "no {step} timing:\n{metrics}"
        );
    }
}

fn run_ok(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().expect("run tool");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_no_results_and_signer_down_produce_their_return_codes() {
    let ncp = TestNcp::start(|_| {}).await;

    // Cancel at the login page.
    let mut a = Agent::new();
    let (url, login) = enter(&ncp, &mut a, "s-cancel", &[]).await;
    let r = a
        .post(
            &format!("{url}/cancel"),
            &[("csrf", &input(&login.body, "csrf"))],
        )
        .await;
    let f = return_fields(&r.body);
    assert_eq!(
        (
            f["sessionId"].as_str(),
            f["returnCode"].as_str(),
            f["elmo"].as_str()
        ),
        ("s-cancel", "NCP_CANCEL", "")
    );

    // Cancel at the selection page.
    let mut a = Agent::new();
    let (url, login) = enter(&ncp, &mut a, "s-cancel2", &[]).await;
    let select = dev_login(&mut a, &url, &login, "demo-jean").await;
    let r = a
        .post(
            &format!("{url}/cancel"),
            &[("csrf", &input(&select.body, "csrf"))],
        )
        .await;
    assert_eq!(return_fields(&r.body)["returnCode"], "NCP_CANCEL");

    // A student without results.
    let mut a = Agent::new();
    let (url, login) = enter(&ncp, &mut a, "s-empty", &[]).await;
    let r = dev_login(&mut a, &url, &login, "demo-empty").await;
    assert_eq!(return_fields(&r.body)["returnCode"], "NCP_NO_RESULTS");

    // Nothing left after filtering: everything of this student is … passed, so instead check
    // that allowNotPassedCourses=true offers the failed and in-progress ones.
    let mut a = Agent::new();
    let (url, login) = enter(&ncp, &mut a, "s-all", &[("allowNotPassedCourses", "true")]).await;
    let select = dev_login(&mut a, &url, &login, "demo-asa").await;
    assert_eq!(input_values(&select.body, "course").len(), 7);
    assert!(select.body.contains("Mechanics") || select.body.contains("Mekanikk"));

    // allowToPickCourses=false: no checkboxes, everything offered is sent.
    let mut a = Agent::new();
    let (url, login) = enter(&ncp, &mut a, "s-fixed", &[("allowToPickCourses", "false")]).await;
    let select = dev_login(&mut a, &url, &login, "demo-jean").await;
    assert!(input_values(&select.body, "course").is_empty());
    let r = a
        .post(
            &format!("{url}/send"),
            &[("csrf", &input(&select.body, "csrf")), ("consent", "yes")],
        )
        .await;
    let f = return_fields(&r.body);
    assert_eq!(f["returnCode"], "NCP_OK");
    let signed = decode_signed(&f["elmo"]);
    let elmo = emrex_elmo::parse(&signed, &Default::default()).expect("parse");
    assert_eq!(elmo.reports[0].learning_opportunities.len(), 3);

    // Signer down: NCP_ERROR, with a message.
    let down = TestNcp::start(|c| c.signer.client.endpoint = "http://127.0.0.1:9".into()).await;
    let mut a = Agent::new();
    let (url, login) = enter(&down, &mut a, "s-down", &[]).await;
    let select = dev_login(&mut a, &url, &login, "demo-jean").await;
    let course = input_values(&select.body, "course").remove(0);
    let r = a
        .post(
            &format!("{url}/send"),
            &[
                ("csrf", &input(&select.body, "csrf")),
                ("course", &course),
                ("consent", "yes"),
            ],
        )
        .await;
    let f = return_fields(&r.body);
    assert_eq!(f["returnCode"], "NCP_ERROR");
    assert!(!f["returnMessage"].is_empty());
    assert_eq!(f["elmo"], "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_is_refused_with_a_page_and_changes_nothing() {
    let ncp = TestNcp::start(|_| {}).await;
    let mut a = Agent::new();
    let entry = format!("{}/", ncp.base);
    let long = "x".repeat(65);
    for (fields, needle) in [
        (
            vec![("sessionId", "a b"), ("returnUrl", RETURN)],
            "sessionId",
        ),
        (
            vec![("sessionId", long.as_str()), ("returnUrl", RETURN)],
            "longer than 64",
        ),
        (
            vec![("sessionId", "abc"), ("returnUrl", "http://evil.example/r")],
            "https",
        ),
        (
            vec![("sessionId", "abc"), ("returnUrl", "javascript:alert(1)")],
            "https",
        ),
        (vec![("returnUrl", RETURN)], "no sessionId"),
    ] {
        let r = a.post(&entry, &fields).await;
        assert_eq!(r.status, 400, "{fields:?}");
        assert!(r.body.contains(needle), "{needle}: {}", r.body);
        assert!(a.cookies.is_empty(), "no exchange was started");
    }
    // Oversized body and query.
    let big = format!(
        "sessionId=abc&returnUrl={RETURN}&pad={}",
        "x".repeat(20_000)
    );
    assert_eq!(a.post_raw(&entry, big.clone()).await.status, 413);
    assert_eq!(a.get(&format!("{entry}?{big}")).await.status, 414);
    // multipart is not the EMREX encoding.
    let r = a
        .http
        .post(&entry)
        .header("content-type", "multipart/form-data; boundary=x")
        .body("--x--")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 415);
    // GET works as an entry too (several clients use it).
    let r = a
        .get(&format!("{entry}?sessionId=g1&returnUrl={RETURN}"))
        .await;
    assert_eq!(r.status, 303);

    // A real exchange, then attacks on it.
    let mut a = Agent::new();
    let (url, login) = enter(&ncp, &mut a, "victim", &[]).await;
    let csrf = input(&login.body, "csrf");
    // Forged CSRF token.
    let r = a
        .post(
            &format!("{url}/login/dev"),
            &[("csrf", "forged"), ("student", "demo-asa")],
        )
        .await;
    assert_eq!(r.status, 403);
    // Another browser (no cookie) with the right token.
    let mut other = Agent::new();
    let r = other
        .post(
            &format!("{url}/login/dev"),
            &[("csrf", &csrf), ("student", "demo-asa")],
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(other.get(&url).await.status, 403);
    // Still at the login stage: the real student logs in normally.
    let select = dev_login(&mut a, &url, &login, "demo-asa").await;
    assert_eq!(select.status, 200);
    let offered = input_values(&select.body, "course");
    // Tampered selection: a key that was not offered (the failed course r0-3).
    let r = a
        .post(
            &format!("{url}/send"),
            &[("csrf", &csrf), ("course", "r0-3"), ("consent", "yes")],
        )
        .await;
    assert_eq!(r.status, 400);
    // No consent, then nothing selected: the page comes back, nothing sent.
    let r = a
        .post(
            &format!("{url}/send"),
            &[("csrf", &csrf), ("course", &offered[0])],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("consent"));
    let r = a
        .post(
            &format!("{url}/send"),
            &[("csrf", &csrf), ("consent", "yes")],
        )
        .await;
    assert_eq!(r.status, 422);
    // Forged CSRF on send.
    let r = a
        .post(
            &format!("{url}/send"),
            &[("csrf", "x"), ("course", &offered[0]), ("consent", "yes")],
        )
        .await;
    assert_eq!(r.status, 403);
    // After all that, the genuine request still works exactly once.
    let r = a
        .post(
            &format!("{url}/send"),
            &[("csrf", &csrf), ("course", &offered[0]), ("consent", "yes")],
        )
        .await;
    assert_eq!(return_fields(&r.body)["returnCode"], "NCP_OK");
    let r = a.get(&url).await;
    assert!(matches!(r.status, 403 | 409), "finished: {}", r.status);
    // Unknown exchanges.
    assert_eq!(
        a.get(&format!("{}/x/doesnotexist", ncp.base)).await.status,
        404
    );
    let metrics = ncp.metrics_text();
    assert!(metrics.contains("reason=\"csrf\""), "{metrics}");
    assert!(
        metrics.contains("emrex_ncp_exchanges_finished_total{outcome=\"NCP_OK\"} 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_follow_accept_language() {
    let ncp = TestNcp::start(|_| {}).await;
    for (lang, needle) in [
        ("de-DE,de;q=0.9", "Entwicklungsmodus"),
        ("fr", "Mode développement"),
        ("fi", "Development mode"),
    ] {
        let mut a = Agent::new();
        a.lang = lang;
        let (_, login) = enter(&ncp, &mut a, "lang", &[]).await;
        assert!(login.body.contains(needle), "{lang}");
        let tag = lang.split(['-', ',']).next().unwrap_or("en");
        let expect = if tag == "fi" { "en" } else { tag };
        assert!(
            login.body.contains(&format!(r#"<html lang="{expect}">"#)),
            "{lang}"
        );
    }
}

/// Issue #16, items 4, 5, 7 and 8 over HTTP: the language switch keeps the exchange (and the
/// choice holds for the next pages), "select all" is a working control, the consent tick and the
/// choices survive a page that comes back with an error, hidden results are announced, and an
/// expired, finished or unknown transfer is never a dead end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_student_keeps_their_language_and_choices_and_always_has_a_way_back() {
    let ncp = TestNcp::start(|c| c.exchange.ttl = std::time::Duration::from_secs(2)).await;
    let mut a = Agent::new();
    let (url, login) = enter(&ncp, &mut a, "s-switch", &[]).await;
    let select = dev_login(&mut a, &url, &login, "demo-asa").await;
    assert!(
        select.body.contains(r#"href="/x/"#) && select.body.contains("?lang=de"),
        "a language switch on the selection page"
    );
    // Failed and in-progress results are hidden by default, and the page says so.
    assert!(select.body.contains("(2 in all)"), "{}", select.body);

    // Switch to German: the same exchange, in German, and the choice is remembered.
    let de = a.get(&format!("{url}?lang=de")).await;
    assert_eq!(de.status, 200);
    assert!(de.body.contains(r#"<html lang="de">"#));
    assert!(de.body.contains("Zu übermittelnde Leistungen wählen"));
    assert_eq!(a.cookies.get("emrex-lang").map(String::as_str), Some("de"));
    let offered = input_values(&de.body, "course");
    assert_eq!(offered.len(), 5);
    let csrf = input(&de.body, "csrf");

    // "Select all" ticks every offered result and keeps the consent box as it was.
    let all = a
        .post(
            &format!("{url}/send"),
            &[("csrf", &csrf), ("do", "select-all"), ("consent", "yes")],
        )
        .await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert!(all.body.contains(r#"<html lang="de">"#), "still German");
    for key in &offered {
        assert!(
            all.body.contains(&format!(r#"id="c-{key}" checked>"#)),
            "{key} ticked"
        );
    }
    assert!(all.body.contains(r#"id="consent" required checked>"#));

    // Nothing chosen: the page comes back with the consent tick kept.
    let none = a
        .post(
            &format!("{url}/send"),
            &[("csrf", &csrf), ("consent", "yes")],
        )
        .await;
    assert_eq!(none.status, 422);
    assert!(none.body.contains(r#"id="consent" required checked>"#));
    // No consent: the ticked results stay ticked.
    let no_consent = a
        .post(
            &format!("{url}/send"),
            &[("csrf", &csrf), ("course", &offered[1])],
        )
        .await;
    assert_eq!(no_consent.status, 422);
    assert!(
        no_consent
            .body
            .contains(&format!(r#"id="c-{}" checked>"#, offered[1]))
    );
    assert!(!no_consent.body.contains(r#"required checked>"#));

    // Finished: refused, with the way back to the client.
    let sent = a
        .post(
            &format!("{url}/send"),
            &[("csrf", &csrf), ("course", &offered[0]), ("consent", "yes")],
        )
        .await;
    assert_eq!(return_fields(&sent.body)["returnCode"], "NCP_OK");
    let finished = a.get(&url).await;
    assert_eq!(finished.status, 409);
    assert!(
        finished.body.contains("Zurück zu 127.0.0.1:9"),
        "{}",
        finished.body
    );

    // Expired: 410, with the way back to the client that sent the student.
    let mut b = Agent::new();
    let (url_b, _) = enter(&ncp, &mut b, "s-expire", &[]).await;
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    let expired = b.get(&url_b).await;
    assert_eq!(expired.status, 410, "{}", expired.body);
    assert!(
        expired
            .body
            .contains(r#"<a href="http://127.0.0.1:9/">Back to 127.0.0.1:9</a>"#),
        "{}",
        expired.body
    );
    // Unknown: 404, and the page says where to go.
    let unknown = b.get(&format!("{}/x/never-was", ncp.base)).await;
    assert_eq!(unknown.status, 404);
    assert!(
        unknown
            .body
            .contains("go back to the service that sent you")
    );
}
