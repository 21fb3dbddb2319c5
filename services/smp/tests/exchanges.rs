//! The SMP's return endpoint logic against a real SQLite store and real signed documents:
//! verified, replayed, unknown, signed by another registered NCP, tampered, gzip bomb, identity
//! mismatch, the three non-OK return codes, expiry — each recorded with the right outcome and
//! nothing else changed. And interop with a real peer: the Danish NCP's response verifies with
//! the Danish certificate when its EMREG entry is flagged legacy (and only then).

use base64::Engine as _;
use std::sync::Arc;
use std::time::Duration;

use emrex_elmo::model::{
    Credit, Elmo, Identifier, Issuer, LangText, Learner, LearningOpportunityInstance,
    LearningOpportunitySpecification, LoiStatus, Report,
};
use emrex_elmo::{Budget, Person};
use emrex_smp::model::{OutcomeKind, Status};
use emrex_smp::registry::{RegistryCountry, RegistryNcp, Snapshot};
use emrex_smp::service::{ReturnRefused, Settings, SmpCore, SmpMetrics};
use emrex_smp::store::{SmpStore, SqliteStore};
use emrex_xmldsig::{PinnedCert, SignOptions, SigningKey};

/// A test-only NCP key.
fn ncp_key(name: &str) -> (SigningKey, PinnedCert) {
    let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let mut p =
        rcgen::CertificateParams::new(vec![format!("{name}.test.invalid")]).expect("params");
    p.distinguished_name
        .push(rcgen::DnType::CommonName, format!("{name} (test only)"));
    let cert = p.self_signed(&kp).expect("cert");
    (
        SigningKey::from_pem(kp.serialize_pem().as_bytes(), cert.pem().as_bytes())
            .expect("signing key"),
        PinnedCert::from_der(cert.der()).expect("pin"),
    )
}

/// A document about `given family` generated now (so it can be an answer to an exchange that
/// started a moment ago).
fn document(given: &str, family: &str, bday: &str) -> Vec<u8> {
    document_at(given, family, bday, &now())
}

fn now() -> String {
    emrex_elmo::dates::format_date_time_utc(std::time::SystemTime::now())
}

fn document_at(given: &str, family: &str, bday: &str, generated: &str) -> Vec<u8> {
    let elmo = Elmo::new(Learner::new(given, family).with_bday(bday), generated).with_report(
        Report::new(
            Issuer::new(
                LangText::new("Test University"),
                Identifier::new("schac", "test.invalid"),
                "",
            ),
            "2026-01-01T00:00:00Z",
        )
        .with_learning_opportunity(LearningOpportunitySpecification::course(
            "C1",
            LangText::new("Algebra"),
            LearningOpportunityInstance::default()
                .with_result("A")
                .with_status(LoiStatus::Passed)
                .with_credit(Credit::ects("5")),
        )),
    );
    emrex_elmo::to_xml_v17(&elmo).into_bytes()
}

fn entry(acronym: &str, cert: Vec<PinnedCert>, legacy: bool) -> RegistryNcp {
    RegistryNcp {
        acronym: acronym.into(),
        country_code: "FI".into(),
        institutions: vec![format!("{acronym} university")],
        url: format!("https://{acronym}.test.invalid/"),
        certificates: cert,
        legacy_algorithms: legacy,
    }
}

struct Fixture {
    core: SmpCore<SqliteStore>,
    _dir: tempfile::TempDir,
}

async fn core(ncps: Vec<RegistryNcp>, ttl: Duration) -> Fixture {
    let dir = tempfile::tempdir().expect("tmp");
    let store = SqliteStore::open(&format!("sqlite:{}", dir.path().join("smp.db").display()))
        .await
        .expect("store");
    let snapshot = Arc::new(Snapshot {
        countries: vec![RegistryCountry {
            code: "FI".into(),
            name: "Finland".into(),
            single_fetch: true,
        }],
        ncps,
    });
    Fixture {
        core: SmpCore::new(
            Arc::new(store),
            Arc::new(move || snapshot.clone()),
            Settings {
                public_url: "https://smp.test.invalid".into(),
                dev_mode: false,
                chooser: false,
                ttl,
                budget: Budget::default(),
                clock_skew: Duration::from_secs(300),
            },
            SmpMetrics::default(),
        ),
        _dir: dir,
    }
}

fn body(session: &str, code: &str, elmo: &str) -> Vec<u8> {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("sessionId", session)
        .append_pair("returnCode", code)
        .append_pair("returnMessage", "")
        .append_pair("elmo", elmo)
        .finish()
        .into_bytes()
}

fn signed(key: &SigningKey, doc: &[u8]) -> String {
    emrex_elmo::transport::encode(
        &emrex_xmldsig::sign(doc, key, &SignOptions::default()).expect("sign"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_return_is_recorded_with_its_outcome_and_nothing_else_changes() {
    let (key_a, cert_a) = ncp_key("ncp-a");
    let (key_b, cert_b) = ncp_key("ncp-b");
    let f = core(
        vec![
            entry("A", vec![cert_a], false),
            entry("B", vec![cert_b], false),
        ],
        Duration::from_secs(600),
    )
    .await;
    let c = &f.core;
    let asa = || Person::new("Åsa", "Ødegård", Some("1999-04-12"));
    let good = document("Åsa", "Ødegård", "1999-04-12");

    // Verified, then replayed.
    let r = c.start(asa(), "A", "app-1").await.expect("start");
    assert_eq!(r.session_id.len(), 32);
    let raw = body(&r.session_id, "NCP_OK", &signed(&key_a, &good));
    let done = c
        .receive(raw.clone())
        .await
        .expect("store")
        .expect("accepted");
    let o = done.outcome.clone().expect("outcome");
    assert_eq!(o.kind, OutcomeKind::Verified, "{}", o.detail);
    assert_eq!(
        done.raw_response.as_deref(),
        Some(raw.as_slice()),
        "raw kept"
    );
    assert!(done.elmo_xml.is_some());
    // The very same response again: the stored result, unchanged.
    assert_eq!(
        c.receive(raw.clone()).await.expect("store").as_ref(),
        Ok(&done)
    );
    let replay = body(
        &r.session_id,
        "NCP_OK",
        &signed(&key_a, &document("Mallory", "X", "2000-01-01")),
    );
    assert_eq!(
        c.receive(replay).await.expect("store"),
        Err(ReturnRefused::Replayed)
    );
    let after = c
        .store
        .get(&r.session_id)
        .await
        .expect("get")
        .expect("record");
    assert_eq!(after, done, "a replay changes nothing");

    // Unknown sessionId: refused, nothing stored.
    let before = c.store.list(Default::default()).await.expect("list").len();
    assert_eq!(
        c.receive(body(
            "nonexistent-session-id",
            "NCP_OK",
            &signed(&key_a, &good)
        ))
        .await
        .expect("store"),
        Err(ReturnRefused::Unknown)
    );
    assert_eq!(
        c.store.list(Default::default()).await.expect("list").len(),
        before
    );

    // Each bad case on its own exchange.
    let cases: Vec<(&str, Person, String, &str, OutcomeKind)> = vec![
        (
            "other NCP's key",
            asa(),
            signed(&key_b, &good),
            "NCP_OK",
            OutcomeKind::SignatureInvalid,
        ),
        (
            "tampered",
            asa(),
            {
                let s = emrex_xmldsig::sign(&good, &key_a, &SignOptions::default()).expect("sign");
                let t = String::from_utf8(s).expect("utf8").replace(">A<", ">B<");
                emrex_elmo::transport::encode(t.as_bytes())
            },
            "NCP_OK",
            OutcomeKind::SignatureInvalid,
        ),
        (
            "gzip bomb",
            asa(),
            emrex_elmo::transport::encode(&vec![b' '; 8 * 1024 * 1024]),
            "NCP_OK",
            OutcomeKind::Undecodable,
        ),
        (
            "identity mismatch",
            Person::new("Jean-Baptiste", "Lefèvre", Some("1998-02-28")),
            signed(&key_a, &good),
            "NCP_OK",
            OutcomeKind::IdentityMismatch,
        ),
        (
            "birth day and month swapped at the SIS",
            Person::new("Åsa", "Ødegård", Some("1999-12-04")),
            signed(&key_a, &good),
            "NCP_OK",
            OutcomeKind::IdentityReview,
        ),
        (
            "a transcript from an earlier exchange",
            asa(),
            signed(
                &key_a,
                &document_at("Åsa", "Ødegård", "1999-04-12", "2026-01-01T00:00:00Z"),
            ),
            "NCP_OK",
            OutcomeKind::Stale,
        ),
        (
            "cancel",
            asa(),
            String::new(),
            "NCP_CANCEL",
            OutcomeKind::NcpReturned,
        ),
        (
            "no results",
            asa(),
            String::new(),
            "NCP_NO_RESULTS",
            OutcomeKind::NcpReturned,
        ),
        (
            "error",
            asa(),
            String::new(),
            "NCP_ERROR",
            OutcomeKind::NcpReturned,
        ),
    ];
    for (name, person, elmo, code, kind) in cases {
        let r = c.start(person, "A", name).await.expect("start");
        let done = c
            .receive(body(&r.session_id, code, &elmo))
            .await
            .expect("store")
            .unwrap_or_else(|e| panic!("{name}: refused {e}"));
        let o = done.outcome.expect("outcome");
        assert_eq!(o.kind, kind, "{name}: {}", o.detail);
        assert_eq!(o.return_code, code, "{name}");
        assert_eq!(done.status, Status::Completed);
        if kind == OutcomeKind::Stale {
            assert!(
                o.detail.contains("before this exchange started"),
                "{}",
                o.detail
            );
            assert!(
                done.elmo_xml.is_some(),
                "the document is kept, not imported"
            );
        }
        if kind == OutcomeKind::IdentityMismatch {
            let id = o.identity.expect("identity");
            assert!(id.score < 0.5 && !id.reasons.is_empty(), "{id:?}");
        }
    }

    // Expired: refused, the record stays pending.
    let f2 = core(
        vec![entry("A", vec![ncp_key("x").1], false)],
        Duration::from_secs(0),
    )
    .await;
    let r = f2.core.start(asa(), "A", "").await.expect("start");
    assert_eq!(
        f2.core
            .receive(body(&r.session_id, "NCP_CANCEL", ""))
            .await
            .expect("store"),
        Err(ReturnRefused::Expired)
    );
    assert_eq!(
        f2.core
            .store
            .get(&r.session_id)
            .await
            .expect("get")
            .expect("rec")
            .status,
        Status::Pending
    );
    // Unknown NCP at start.
    assert!(c.start(asa(), "NOPE", "").await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_danish_response_verifies_when_its_entry_is_flagged_legacy() {
    let fx = emrex_tests::fixtures_dir();
    let cert = PinnedCert::from_pem_or_der(
        &std::fs::read(fx.join("certs/dk-emrex-test.cer")).expect("cert"),
    )
    .expect("pin");
    let param =
        std::fs::read_to_string(fx.join("responses/dk-tomcat.elmo-param.txt")).expect("param");
    let param = param.trim();

    // Who is in the document (to start the exchange for the right person, and for a wrong one).
    let xml = emrex_elmo::transport::decode(param, &Budget::default()).expect("decode");
    let learner = emrex_elmo::parse(&xml, &Default::default())
        .expect("parse")
        .learner;
    let right = Person::from(&learner);

    // The document was generated in January 2017: it can only be the answer to an exchange
    // that started then. Today it is a stale transcript (issue #16, item 10).
    let generated = emrex_elmo::parse(&xml, &Default::default())
        .expect("parse")
        .generated_date;
    let (generated_unix, _) =
        emrex_smp::judge::date_time_unix(&generated).expect("a dated document");
    for (legacy, person, started, expect) in [
        (
            true,
            right.clone(),
            Some(generated_unix - 60),
            vec![OutcomeKind::Verified, OutcomeKind::IdentityReview],
        ),
        (
            true,
            Person::new("Zoë", "Łukasiewicz", Some("2000-11-02")),
            Some(generated_unix - 60),
            vec![OutcomeKind::IdentityMismatch],
        ),
        (
            false,
            right.clone(),
            Some(generated_unix - 60),
            vec![OutcomeKind::SignatureInvalid],
        ),
        (true, right.clone(), None, vec![OutcomeKind::Stale]),
    ] {
        let f = core(
            vec![entry("DK", vec![cert.clone()], legacy)],
            Duration::from_secs(600),
        )
        .await;
        let mut r = f.core.start(person, "DK", "").await.expect("start");
        if let Some(started) = started {
            // The same exchange as if it had started then (a fresh record with that start).
            let mut then = r.clone();
            then.session_id = format!("{}-2016", &r.session_id[..20]);
            then.created_unix = started;
            r = f.core.store.insert(then).await.expect("insert");
        }
        let done = f
            .core
            .receive(body(&r.session_id, "NCP_OK", param))
            .await
            .expect("store")
            .expect("accepted");
        let o = done.outcome.expect("outcome");
        assert!(
            expect.contains(&o.kind),
            "legacy={legacy}: {:?} {}",
            o.kind,
            o.detail
        );
        if legacy {
            assert_eq!(o.signer_index, Some(0));
        }
        if started.is_some() && legacy {
            assert!(o.identity.is_some(), "identity judged");
        }
        if started.is_none() {
            assert!(
                o.identity.is_none(),
                "a stale document is not judged further"
            );
            assert!(o.detail.contains(&generated), "{}", o.detail);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sis_api_starts_gets_lists_and_watches_exchanges() {
    use emrex_proto::smp::v1 as pb;
    use emrex_proto::smp::v1::smp_client::SmpClient;
    use tokio_stream::StreamExt;

    let (key, cert) = ncp_key("ncp-a");
    let f = core(
        vec![entry("A", vec![cert], false)],
        Duration::from_secs(600),
    )
    .await;
    let core = Arc::new(f.core);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let svc = emrex_smp::grpc::smp_server(core.clone());
    tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(svc)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await;
    });
    let mut client = SmpClient::connect(format!("http://{addr}"))
        .await
        .expect("connect");
    let mut watch = client
        .watch_exchanges(pb::WatchExchangesRequest { after_revision: 0 })
        .await
        .expect("watch")
        .into_inner();

    let started = client
        .start_exchange(pb::StartExchangeRequest {
            person: Some(pb::Person {
                given_names: "Åsa".into(),
                family_name: "Ødegård".into(),
                birth_date: "1999-04-12".into(),
            }),
            ncp_acronym: "A".into(),
            sis_reference: "application-42".into(),
        })
        .await
        .expect("start")
        .into_inner();
    assert!(
        started
            .redirect_url
            .ends_with(&format!("/go/{}", started.session_id))
    );
    let unknown = client
        .start_exchange(pb::StartExchangeRequest {
            person: Some(pb::Person {
                given_names: "A".into(),
                ..Default::default()
            }),
            ncp_acronym: "NOPE".into(),
            sis_reference: String::new(),
        })
        .await;
    assert_eq!(
        unknown.expect_err("unknown NCP").code(),
        tonic::Code::NotFound
    );

    let ev = tokio::time::timeout(Duration::from_secs(5), watch.next())
        .await
        .expect("event")
        .expect("open")
        .expect("ok");
    assert_eq!(ev.session_id, started.session_id);
    assert_eq!(ev.status, pb::Status::Pending as i32);

    let good = document("Åsa", "Ødegård", "1999-04-12");
    core.receive(body(&started.session_id, "NCP_OK", &signed(&key, &good)))
        .await
        .expect("store")
        .expect("accepted");
    let ev = tokio::time::timeout(Duration::from_secs(5), watch.next())
        .await
        .expect("event")
        .expect("open")
        .expect("ok");
    assert_eq!(ev.status, pb::Status::Completed as i32);
    assert_eq!(ev.outcome, pb::OutcomeKind::Verified as i32);

    let got = client
        .get_exchange(pb::GetExchangeRequest {
            session_id: started.session_id.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got.sis_reference, "application-42");
    assert_eq!(got.reports.len(), 1);
    assert_eq!(got.reports[0].courses[0].title, "Algebra");
    assert_eq!(got.reports[0].courses[0].credits_ects, "5");
    assert!(!got.signed_xml.is_empty());
    assert_eq!(
        got.identity.as_ref().map(|i| i.verdict.as_str()),
        Some("match")
    );
    let listed = client
        .list_exchanges(pb::ListExchangesRequest {
            sis_reference: "application-42".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.exchanges.len(), 1);
    let missing = client
        .get_exchange(pb::GetExchangeRequest {
            session_id: "nope".into(),
        })
        .await;
    assert_eq!(missing.expect_err("missing").code(), tonic::Code::NotFound);
}

/// Serves `core`'s router on loopback; returns the base URL.
async fn serve<S: emrex_smp::store::SmpStore>(core: Arc<SmpCore<S>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let router = emrex_smp::http::router(core);
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    base
}

/// The return endpoint over HTTP: post/redirect/get to a durable result page that reloads,
/// the same response posted again (a reload of the NCP's form, a restored tab) shows the result
/// again while any other replay is refused and changes nothing, and a result link minted by one
/// replica opens on another that shares the link key file and the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_return_endpoint_answers_refusals_with_status_codes() {
    let (key, cert) = ncp_key("ncp-a");
    let f = core(
        vec![entry("A", vec![cert.clone()], false)],
        Duration::from_secs(600),
    )
    .await;
    let keys = f._dir.path().join("link-keys");
    std::fs::write(
        &keys,
        base64::engine::general_purpose::STANDARD.encode([42u8; 32]),
    )
    .expect("key file");
    let links = || {
        emrex_smp::links::LinkKeys::from_config(&emrex_smp::links::LinksConfig {
            key_file: Some(keys.clone()),
            ..Default::default()
        })
        .expect("link keys")
    };
    let store_path = f._dir.path().join("smp.db");
    let core = Arc::new(f.core.with_links(links()));
    let base = serve(core.clone()).await;
    // Replica B: its own process state, the same database file and link keys.
    let b_store = SqliteStore::open(&format!("sqlite:{}", store_path.display()))
        .await
        .expect("store B");
    let b_snapshot = Arc::new(Snapshot {
        countries: vec![],
        ncps: vec![entry("A", vec![cert], false)],
    });
    let replica_b = Arc::new(
        SmpCore::new(
            Arc::new(b_store),
            Arc::new(move || b_snapshot.clone()),
            core.settings.clone(),
            SmpMetrics::default(),
        )
        .with_links(links()),
    );
    let base_b = serve(replica_b).await;

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let post = |b: Vec<u8>| {
        http.post(format!("{base}/return"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(b)
            .send()
    };
    let get = |url: String| http.get(url).send();
    let r = core
        .start(Person::new("Åsa", "Ødegård", Some("1999-04-12")), "A", "")
        .await
        .expect("start");
    let good = signed(&key, &document("Åsa", "Ødegård", "1999-04-12"));
    let first = post(body(&r.session_id, "NCP_OK", &good))
        .await
        .expect("post");
    assert_eq!(first.status().as_u16(), 303, "post/redirect/get");
    let location = first
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("location")
        .to_string();
    assert!(
        location.starts_with(&format!("/result/{}?t=", r.session_id)),
        "{location}"
    );
    for attempt in ["first view", "reload"] {
        let page = get(format!("{base}{location}")).await.expect("get");
        assert_eq!(page.status().as_u16(), 200, "{attempt}");
        let page = page.text().await.expect("text");
        assert!(page.contains("data-kind=\"Verified\""), "{attempt}: {page}");
        assert!(page.contains("Algebra"), "{attempt}");
    }
    // Minted on A, opened on B (page and transcript).
    let on_b = get(format!("{base_b}{location}")).await.expect("get on B");
    assert_eq!(on_b.status().as_u16(), 200);
    assert!(on_b.text().await.expect("text").contains("Algebra"));
    // Without the token, or with a forged one: 403.
    let no_token = get(format!("{base}/result/{}", r.session_id))
        .await
        .expect("get");
    assert_eq!(no_token.status().as_u16(), 403);
    let forged = get(format!(
        "{base_b}/result/{}?t=9999999999.AAAAAAAAAAAAAAAAAAAAAA",
        r.session_id
    ))
    .await
    .expect("get");
    assert_eq!(forged.status().as_u16(), 403);
    // The very same response again (the NCP's form reloaded, a restored tab): the result again.
    let again = post(body(&r.session_id, "NCP_OK", &good))
        .await
        .expect("post");
    assert_eq!(again.status().as_u16(), 303);
    let before = core.store.get(&r.session_id).await.expect("get");
    // Another response for the same session: a replay, refused, nothing changes.
    let other = signed(&key, &document("Mallory", "X", "2000-01-01"));
    assert_eq!(
        post(body(&r.session_id, "NCP_OK", &other))
            .await
            .expect("post")
            .status()
            .as_u16(),
        409
    );
    assert_eq!(core.store.get(&r.session_id).await.expect("get"), before);
    assert_eq!(
        post(body("unknown", "NCP_OK", &good))
            .await
            .expect("post")
            .status()
            .as_u16(),
        404
    );
    // The chooser is off outside development mode unless configured: nobody can start
    // exchanges for arbitrary persons through the page.
    let r = http
        .post(format!("{base}/start"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("given_names=A&family_name=B&ncp=A")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(
        http.get(format!("{base}/"))
            .send()
            .await
            .expect("get")
            .status()
            .as_u16(),
        404
    );
    // Over the limit, by a byte and by half a megabyte: the 413 page arrives (the rest of the
    // body is read and dropped, so the answer is not lost to a connection reset).
    for over in [1, 512 * 1024] {
        let huge = vec![b'a'; emrex_smp::http::MAX_RETURN_BYTES + over];
        let r = post(huge).await.expect("post");
        assert_eq!(r.status().as_u16(), 413);
        let page = r.text().await.expect("page");
        assert!(page.contains("too large"), "{page}");
    }
}

/// The provider's German words in the ELMO 2.1 test below.
const GERMAN_MESSAGE: &str = "Die Ergebnisse des letzten Semesters liegen noch nicht vor.";

/// An ELMO 2.1.1 document with everything 2.1 adds, returned over HTTP: the SIS API (a real
/// gRPC client) gets the report status, the recognition decisions, the enrolment, document
/// type and the learner's 2.1 fields, and the student's result page shows the status and the
/// recognitions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elmo_2_1_data_reaches_the_sis_api_and_the_result_page() {
    use emrex_proto::smp::v1::GetExchangeRequest;
    use emrex_proto::smp::v1::smp_client::SmpClient;

    let (key, cert) = ncp_key("ncp-gr");
    let f = core(
        vec![entry("GR", vec![cert], false)],
        Duration::from_secs(600),
    )
    .await;
    let keys = f._dir.path().join("link-keys");
    std::fs::write(
        &keys,
        base64::engine::general_purpose::STANDARD.encode([7u8; 32]),
    )
    .expect("key file");
    let links = emrex_smp::links::LinkKeys::from_config(&emrex_smp::links::LinksConfig {
        key_file: Some(keys),
        ..Default::default()
    })
    .expect("link keys");
    let core = Arc::new(f.core.with_links(links));
    let base = serve(core.clone()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let svc = emrex_smp::grpc::smp_server(core.clone());
    tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(svc)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await;
    });

    let doc = std::fs::read(
        emrex_tests::workspace_dir().join("services/elmo/tests/data/elmo-2.1.1-every-element.xml"),
    )
    .expect("the 2.1.1 test document");
    // Generated now, so the document can be the answer to this exchange.
    let doc = String::from_utf8(doc)
        .expect("utf-8")
        .replacen(
            "<generatedDate>2025-06-30T12:00:00+02:00</generatedDate>",
            &format!("<generatedDate>{}</generatedDate>", now()),
            1,
        )
        // The provider's message in German too, after the English one: the German page shows
        // it first.
        .replacen(
            "</message>",
            &format!("</message>\n      <message xml:lang=\"de\">{GERMAN_MESSAGE}</message>"),
            1,
        )
        .into_bytes();
    let r = core
        .start(
            Person::new("Georgios", "Papadopoulos", Some("2001-03-04")),
            "GR",
            "app-21",
        )
        .await
        .expect("start");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let posted = http
        .post(format!("{base}/return"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body(&r.session_id, "NCP_OK", &signed(&key, &doc)))
        .send()
        .await
        .expect("post");
    assert_eq!(posted.status().as_u16(), 303);
    let location = posted
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("location")
        .to_string();

    let mut client = SmpClient::connect(format!("http://{addr}"))
        .await
        .expect("connect");
    let ex = client
        .get_exchange(GetExchangeRequest {
            session_id: r.session_id.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(
        ex.outcome,
        emrex_proto::smp::v1::OutcomeKind::Verified as i32,
        "{}",
        ex.detail
    );
    assert_eq!(ex.elmo_version, "2.1");
    let learner = ex.learner.expect("learner");
    assert_eq!(learner.alternative_name, "Γεώργιος Παπαδόπουλος");
    assert_eq!(
        learner.country_of_birth,
        "http://publications.europa.eu/resource/authority/country/GRC"
    );
    let report = &ex.reports[0];
    let status = report.status.as_ref().expect("report status");
    assert_eq!(status.code, "PARTIAL_TEMPORARY");
    // The SIS API: English first, then the others in document order.
    assert_eq!(
        status.messages,
        [
            "Results of the last term are not available yet.",
            GERMAN_MESSAGE
        ]
    );
    let rec = &report.recognitions[0];
    assert_eq!(
        (rec.status.as_str(), rec.decision_date.as_str()),
        ("Partially Positive", "2022-03-01")
    );
    assert_eq!(rec.basis_institutions, ["Uppsala University"]);
    assert_eq!(
        rec.basis_courses[0].title,
        "Program Design and Data Structures"
    );
    assert_eq!(rec.recognised_courses[0].title, "Data Structures");
    let degree = &report.courses[0];
    assert_eq!(degree.document_type, "Diploma");
    assert_eq!(degree.duration, "P4Y");
    assert_eq!(degree.grading_scheme_external_id, "urn:grading:greek-0-10");
    let enrolment = degree.enrolment.as_ref().expect("enrolment");
    assert_eq!(
        (
            enrolment.date.as_str(),
            enrolment.academic_year_end.as_str()
        ),
        ("2019-09-01", "2020-08-31")
    );

    // The page in every language: what the status code means (the code itself only in
    // `data-code`), the recognitions, the document type and enrolment, all in the page's
    // language; the provider's own message and the course titles as the document has them.
    let english_only = [
        "Recognitions by",
        "part of the record",
        "Based on",
        "Enrolled",
        "Document:",
        ">Partially Positive<",
    ];
    for (lang, needles) in [
        (
            "en",
            vec![
                "From National and Kapodistrian University of Athens: part of the record: some results could not be fetched now; try again later for the rest.",
                "Recognitions by National and Kapodistrian University of Athens",
                ">partly recognised<",
                "Document: diploma",
                "Enrolled 1 Sep 2019",
            ],
        ),
        (
            "de",
            vec![
                "Von National and Kapodistrian University of Athens: ein Teil der Leistungsübersicht",
                "Anerkennungen durch National and Kapodistrian University of Athens",
                ">teilweise anerkannt<",
                "Dokument: Diplom",
                "Eingeschrieben am 01.09.2019",
                "Studienjahr",
            ],
        ),
        (
            "fr",
            vec![
                "De National and Kapodistrian University of Athens : une partie du relevé",
                "Reconnaissances par National and Kapodistrian University of Athens",
                ">partiellement reconnue<",
                "Document : diplôme",
                "Inscription le 01/09/2019",
                "année universitaire",
            ],
        ),
    ] {
        let page = http
            .get(format!("{base}{location}&lang={lang}"))
            .send()
            .await
            .expect("result page");
        assert_eq!(page.status().as_u16(), 200);
        let html = page.text().await.expect("html");
        let shared = [
            "data-code=\"PARTIAL_TEMPORARY\"",
            "data-status=\"Partially Positive\"",
            "Results of the last term are not available yet.",
            "Program Design and Data Structures (5), Uppsala University",
        ];
        for needle in shared.iter().chain(&needles) {
            assert!(
                html.contains(needle),
                "{lang}: {needle:?} not on the page:\n{html}"
            );
        }
        assert!(
            !html.contains("(PARTIAL_TEMPORARY)"),
            "{lang}: the status code is not shown to the student"
        );
        let english_message = html
            .find("Results of the last term are not available yet.")
            .expect("English message");
        let german_message = html.find(GERMAN_MESSAGE).expect("German message");
        // Each marked with its language, so a screen reader says it in the right voice.
        assert!(
            html.contains(&format!("lang=\"de\">{GERMAN_MESSAGE}<")),
            "{lang}: {html}"
        );
        assert!(
            html.contains("lang=\"en\">Results of the last term are not available yet.<"),
            "{lang}: {html}"
        );
        assert_eq!(
            german_message < english_message,
            lang == "de",
            "{lang}: the page's language first, then English"
        );
        if lang != "en" {
            for english in english_only {
                assert!(!html.contains(english), "{lang}: {english:?} untranslated");
            }
        }
    }

    // As a student sees it: desktop and phone width, axe-core, in each language.
    emrex_tests::browser::ensure_node_modules();
    for (lang, locale) in [("en", "en-GB"), ("de", "de-DE"), ("fr", "fr-FR")] {
        let steps = serde_json::json!([
            {"goto": format!("{base}{location}")},
            {"waitFor": ".recognitions"},
            {"audit": format!("{lang}-smp-result-elmo21")},
            {"evaluate": "document.documentElement.lang"},
        ]);
        let dir = emrex_tests::output_dir(&format!("smp_result_elmo21_{lang}"));
        let outcome = tokio::task::spawn_blocking(move || {
            emrex_tests::browser::Browser::run_in_locale(&steps, &dir, locale)
        })
        .await
        .expect("browser task");
        outcome.assert_ok().assert_no_csp_violations();
        assert_eq!(outcome.str_value(3), lang);
    }
}

/// Issue #16, items 2, 4, 11 and 12 over HTTP: the return endpoint refuses what is not a
/// well-formed EMREX form (415 for other bodies, 400 for duplicated or missing fields) and
/// records nothing; an expired hand-over is refused at once with a way to start again; a start
/// form with a mistake comes back filled in; framework rejections and empty answers are pages
/// with the security headers; the pages follow the language switch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_return_endpoint_is_strict_and_no_page_is_a_dead_end() {
    let (key, cert) = ncp_key("ncp-a");
    let mut f = core(
        vec![entry("A", vec![cert], false)],
        Duration::from_secs(600),
    )
    .await;
    f.core.settings.chooser = true;
    let core = Arc::new(f.core);
    let base = serve(core.clone()).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let asa = || Person::new("Åsa", "Ødegård", Some("1999-04-12"));
    let r = core.start(asa(), "A", "").await.expect("start");
    let good = signed(&key, &document("Åsa", "Ødegård", "1999-04-12"));
    let form = |pairs: &[(&str, &str)]| {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    };
    let post = |ctype: Option<&'static str>, body: String| {
        let mut rq = http.post(format!("{base}/return")).body(body);
        if let Some(c) = ctype {
            rq = rq.header("content-type", c);
        }
        rq.send()
    };
    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
    let sid = r.session_id.as_str();

    // Bodies that are not forms: 415, whatever they carry.
    let json = format!(r#"{{"sessionId":"{sid}","returnCode":"NCP_OK","elmo":"{good}"}}"#);
    for (ctype, body) in [
        (Some("application/json"), json.clone()),
        (
            Some("multipart/form-data; boundary=x"),
            format!(
                "--x\r\nContent-Disposition: form-data; name=\"sessionId\"\r\n\r\n{sid}\r\n--x--"
            ),
        ),
        (
            Some("text/plain"),
            form(&[
                ("sessionId", sid),
                ("returnCode", "NCP_OK"),
                ("elmo", &good),
            ]),
        ),
        (
            None,
            form(&[
                ("sessionId", sid),
                ("returnCode", "NCP_OK"),
                ("elmo", &good),
            ]),
        ),
    ] {
        let resp = post(ctype, body).await.expect("post");
        assert_eq!(resp.status().as_u16(), 415, "{ctype:?}");
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    }
    // Malformed forms: 400.
    for pairs in [
        vec![
            ("sessionId", sid),
            ("sessionId", "other"),
            ("returnCode", "NCP_OK"),
            ("elmo", good.as_str()),
        ],
        vec![
            ("sessionId", sid),
            ("returnCode", "NCP_CANCEL"),
            ("returnCode", "NCP_OK"),
            ("elmo", good.as_str()),
        ],
        vec![
            ("sessionId", sid),
            ("returnCode", "NCP_OK"),
            ("elmo", good.as_str()),
            ("elmo", ""),
        ],
        vec![("sessionId", sid), ("elmo", good.as_str())],
        vec![
            ("sessionId", sid),
            ("returnCode", ""),
            ("elmo", good.as_str()),
        ],
    ] {
        let resp = post(FORM, form(&pairs)).await.expect("post");
        assert_eq!(resp.status().as_u16(), 400, "{pairs:?}");
        let page = resp.text().await.expect("text");
        assert!(page.contains("not well formed"), "{page}");
    }
    // Nothing of that was recorded: the exchange is still pending and completes normally.
    let rec = core.store.get(sid).await.expect("get").expect("rec");
    assert_eq!(rec.status, Status::Pending);
    let ok = post(
        FORM,
        form(&[
            ("sessionId", sid),
            ("returnCode", "NCP_OK"),
            ("returnMessage", ""),
            ("elmo", &good),
        ]),
    )
    .await
    .expect("post");
    assert_eq!(ok.status().as_u16(), 303);
    let location = ok.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_string();

    // The result page: plain words, the code only among the technical details, in German
    // after the switch, which keeps the link.
    let page = http
        .get(format!("{base}{location}&lang=de"))
        .send()
        .await
        .expect("get");
    assert_eq!(page.status().as_u16(), 200);
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(cookie.starts_with("emrex-lang=de;"), "{cookie}");
    let page = page.text().await.expect("text");
    assert!(page.contains("Ihre Leistungen sind angekommen"), "{page}");
    assert!(page.contains(r#"lang="de""#));
    let before_details = &page[..page.find("<details").expect("details")];
    assert!(!before_details.contains("NCP_OK"));
    // A duplicated link token is a page with the headers, not a plain-text rejection.
    let dup = http
        .get(format!("{base}{location}&t=again"))
        .send()
        .await
        .expect("get");
    assert_eq!(dup.status().as_u16(), 403);
    assert_eq!(dup.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(dup.headers()["x-content-type-options"], "nosniff");
    // Empty 404 and 405 answers carry the headers too.
    for (method, path) in [
        ("GET", "/nothing-here"),
        ("DELETE", "/return"),
        ("GET", "/return"),
    ] {
        let resp = http
            .request(method.parse().expect("method"), format!("{base}{path}"))
            .send()
            .await
            .expect("send");
        assert!(
            matches!(resp.status().as_u16(), 404 | 405),
            "{method} {path}"
        );
        for h in [
            "x-content-type-options",
            "content-security-policy",
            "x-frame-options",
            "cache-control",
            "referrer-policy",
        ] {
            assert!(resp.headers().contains_key(h), "{method} {path} lacks {h}");
        }
    }

    // An expired hand-over: refused at once (not after the whole NCP flow), with a way back.
    let mut f2 = self::core(
        vec![entry("A", vec![ncp_key("x").1], false)],
        Duration::from_secs(0),
    )
    .await;
    f2.core.settings.chooser = true;
    let core2 = Arc::new(f2.core);
    let base2 = serve(core2.clone()).await;
    let late = core2.start(asa(), "A", "").await.expect("start");
    let go = http
        .get(format!("{base2}/go/{}", late.session_id))
        .send()
        .await
        .expect("get");
    assert_eq!(go.status().as_u16(), 410);
    let go = go.text().await.expect("text");
    assert!(!go.contains("emrex-go"), "no hand-over form");
    assert!(go.contains(r#"<a href="/">Start again</a>"#), "{go}");
    // A fresh one names the institution, not the acronym.
    let fresh = core.start(asa(), "A", "").await.expect("start");
    let go = http
        .get(format!("{base}/go/{}", fresh.session_id))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("text");
    assert!(go.contains("<h1>Going to A university</h1>"), "{go}");

    // A start form with a mistake comes back filled in, saying what to correct.
    let again = http
        .post(format!("{base}/start"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept-language", "fr")
        .body(form(&[
            ("given_names", "Åsa"),
            ("family_name", "Ødegård"),
            ("birth_date", "12.04.1999"),
            ("ncp", "A"),
        ]))
        .send()
        .await
        .expect("post");
    assert_eq!(again.status().as_u16(), 422);
    let again = again.text().await.expect("text");
    assert!(again.contains("date de naissance"), "{again}");
    assert!(again.contains(r#"value="Ødegård""#), "{again}");
    assert!(
        again.contains(r#"id="ncp-A""#),
        "the providers are offered again"
    );
}
