//! What the `emrex dev` browser tests share, whether the federation runs as a process
//! (`dev_federation.rs`) or inside the container image (`image.rs`): the demo student's OpenID
//! account, the Chromium steps of one exchange, and reading the exchange back over the SIS API.

#![allow(dead_code)]

use emrex_proto::smp::v1::smp_client::SmpClient;
use emrex_proto::smp::v1::{ListExchangesRequest, OutcomeKind};
use emrex_tests::browser::{Browser, RunOptions, StepsOutcome};
use emrex_tests::oidc::{OpAccount, OpClient, OpConfig};
use serde_json::{Value, json};

/// The provider's configuration for the development NCP on `ncp_port` (callback on 127.0.0.1).
pub fn op_config(ncp_port: u16) -> OpConfig {
    OpConfig {
        clients: vec![OpClient {
            client_id: "emrex-dev-ncp".into(),
            client_secret: "test-only-secret".into(),
            redirect_uris: vec![format!("http://127.0.0.1:{ncp_port}/login/callback")],
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
    }
}

/// The login steps at the development NCP: its dev login button.
pub fn dev_login() -> Vec<Value> {
    vec![json!({"click": "#dev-demo-asa"})]
}

/// The login steps at the development NCP through the OpenID provider's form.
pub fn oidc_login() -> Vec<Value> {
    vec![
        json!({"click": "#oidc-login"}),
        json!({"waitFor": "input[name=login]"}),
        json!({"fill": "input[name=login]", "value": "asa"}),
        json!({"fill": "input[name=password]", "value": "any"}),
        json!({"click": "button[type=submit]"}),
    ]
}

/// One exchange in Chromium from the SMP at `smp` (ending in `/`): country, NCP, `login`, two
/// courses, consent, and the verified result back at the SMP. Screenshots go to
/// `tests/output/<out>`.
pub fn flow(smp: &str, login: Vec<Value>, out: &str) -> StepsOutcome {
    flow_with(smp, login, out, &RunOptions::default())
}

/// [`flow`] with the browser's [`RunOptions`] (e.g. a provider on another address).
pub fn flow_with(smp: &str, login: Vec<Value>, out: &str, options: &RunOptions) -> StepsOutcome {
    let mut steps = vec![
        json!({"goto": smp}),
        json!({"click": "#country-NO"}),
        json!({"expectText": "Fetch your results from"}),
        json!({"click": "#ncp-DEV-NCP"}),
        json!({"waitForUrl": "/x/"}),
    ];
    steps.extend(login);
    steps.extend([
        json!({"waitFor": "#consent"}),
        json!({"check": "#c-r0-0"}),
        json!({"check": "#c-r1-1"}),
        json!({"check": "#consent"}),
        json!({"click": "#send"}),
        // Post/redirect/get: the result has its own address…
        json!({"waitForUrl": format!("{smp}result/")}),
        json!({"expectText": "Your results have arrived"}),
        // …so a reload shows it again (no re-post, no "This cannot be done").
        json!({"reload": true}),
        json!({"expectText": "Your results have arrived"}),
        json!({"expectText": "Introduction to Object-oriented Programming"}),
        json!({"expectText": "Svenska som främmande språk"}),
        json!({"screenshot": "result.png"}),
        json!({"text": "#courses"}),
    ]);
    Browser::run_with_options(&json!(steps), &emrex_tests::output_dir(out), options)
}

/// The newest exchange the SMP recorded, read over its SIS API at `smp_grpc` with the
/// development token `emrex dev` wrote (its gRPC hops are authenticated even in development).
pub async fn newest_exchange(smp_grpc: &str, token: &str) -> emrex_proto::smp::v1::Exchange {
    let mut client = SmpClient::connect(smp_grpc.to_string())
        .await
        .expect("connect")
        .max_decoding_message_size(64 << 20);
    let mut request = tonic::Request::new(ListExchangesRequest {
        limit: 1,
        ..Default::default()
    });
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", token.trim()).parse().expect("header"),
    );
    let list = client
        .list_exchanges(request)
        .await
        .expect("list")
        .into_inner();
    list.exchanges.into_iter().next().expect("an exchange")
}

/// The SIS API refuses a caller without the token.
pub async fn assert_sis_api_refuses_without_token(smp_grpc: &str) {
    let refused = SmpClient::connect(smp_grpc.to_string())
        .await
        .expect("connect")
        .list_exchanges(ListExchangesRequest::default())
        .await
        .expect_err("no token");
    assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{refused:?}");
}

/// Checks what the SMP recorded for the exchange [`flow`] ran: verified, the two ticked courses,
/// the signed XML and the PDF, the person from the NCP.
pub fn assert_verified_demo_exchange(ex: &emrex_proto::smp::v1::Exchange) {
    assert_eq!(ex.outcome, OutcomeKind::Verified as i32, "{}", ex.detail);
    let courses: Vec<&str> = ex
        .reports
        .iter()
        .flat_map(|r| r.courses.iter().map(|c| c.title.as_str()))
        .collect();
    assert_eq!(courses.len(), 2, "{courses:?}");
    assert!(
        courses.contains(&"Introduction to Object-oriented Programming"),
        "{courses:?}"
    );
    assert!(
        courses.contains(&"Svenska som främmande språk, nybörjarkurs"),
        "{courses:?}"
    );
    assert!(!ex.signed_xml.is_empty() && ex.transcript_pdf.starts_with(b"%PDF"));
    assert_eq!(
        ex.person.as_ref().map(|p| p.family_name.as_str()),
        Some("Ødegård")
    );
}
